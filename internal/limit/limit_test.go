package limit

import (
	"cmp"
	"net/netip"
	"testing"
	"time"
)

// step is one call on a Limiter: "admit" (with the process's open count),
// "release" or "handshake", at a time in ms from the scenario's start, or
// "set" (new limits, a reload).
type step struct {
	op   string
	ip   string
	open int64  // admit
	at   int    // ms; release and handshake
	set  [3]int // set: max_conns, per IP, rate
	want error
}

func TestLimiter(t *testing.T) {
	tests := []struct {
		name                  string
		maxConns, perIP, rate int
		steps                 []step
		wantEntries           int // addresses remembered at the end
	}{
		{
			name: "no limits admit everything",
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1 << 40},
				{op: "handshake", ip: "192.0.2.1"},
				{op: "release", ip: "192.0.2.1"},
			},
		},
		{
			name: "max_conns counts the process", maxConns: 2,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "admit", ip: "192.0.2.2", open: 2},
				{op: "admit", ip: "192.0.2.3", open: 3, want: ErrOverloaded},
				{op: "release", ip: "192.0.2.3"},
				{op: "admit", ip: "192.0.2.3", open: 2},
			},
		},
		{
			name: "max_conns_per_ip counts each address", perIP: 2,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "admit", ip: "192.0.2.1", open: 2},
				{op: "admit", ip: "192.0.2.1", open: 3, want: ErrTooManyConns},
				{op: "admit", ip: "2001:db8::1", open: 4},
				{op: "release", ip: "192.0.2.1"},
				{op: "release", ip: "192.0.2.1"},
				{op: "admit", ip: "192.0.2.1", open: 3},
			},
			wantEntries: 2,
		},
		{
			name: "overloaded wins over per address", maxConns: 1, perIP: 1,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "admit", ip: "192.0.2.1", open: 2, want: ErrOverloaded},
			},
			wantEntries: 1,
		},
		{
			name: "last release forgets the address", perIP: 1,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "release", ip: "192.0.2.1"},
				{op: "release", ip: "192.0.2.1"}, // twice: harmless
			},
		},
		{
			name: "handshake bucket: burst of rate, refilled at rate per second", rate: 2,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "handshake", ip: "192.0.2.1", at: 0},
				{op: "handshake", ip: "192.0.2.1", at: 100},
				{op: "handshake", ip: "192.0.2.1", at: 200, want: ErrHandshakeRate},
				{op: "handshake", ip: "192.0.2.1", at: 499, want: ErrHandshakeRate},
				{op: "handshake", ip: "192.0.2.1", at: 700}, // 0.4 + 0.2/100ms: 1.4 tokens
				{op: "handshake", ip: "192.0.2.1", at: 800, want: ErrHandshakeRate},
				{op: "handshake", ip: "192.0.2.2", at: 800}, // not admitted: not limited
			},
			wantEntries: 1,
		},
		{
			name: "a spent bucket outlives the connection", rate: 1,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "handshake", ip: "192.0.2.1", at: 0},
				{op: "release", ip: "192.0.2.1", at: 10},
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "handshake", ip: "192.0.2.1", at: 20, want: ErrHandshakeRate},
			},
			wantEntries: 1,
		},
		{
			name: "a full bucket is forgotten with the last connection", rate: 1,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "handshake", ip: "192.0.2.1", at: 0},
				{op: "release", ip: "192.0.2.1", at: 1000},
			},
		},
		{
			name: "per-IP limit lowered by Set: open connections stay counted", perIP: 3,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "admit", ip: "192.0.2.1", open: 2},
				{op: "set", set: [3]int{0, 2, 0}},
				{op: "admit", ip: "192.0.2.1", open: 3, want: ErrTooManyConns},
				{op: "release", ip: "192.0.2.1"},
				{op: "release", ip: "192.0.2.1"},
				{op: "admit", ip: "192.0.2.1", open: 2},
			},
			wantEntries: 1,
		},
		{
			name: "limits turned off by Set: releases still forget", perIP: 1,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 1},
				{op: "admit", ip: "192.0.2.1", open: 2, want: ErrTooManyConns},
				{op: "set"},
				{op: "admit", ip: "192.0.2.1", open: 3},
				{op: "release", ip: "192.0.2.1"},
				{op: "release", ip: "192.0.2.1"},
			},
		},
		{
			name: "max_conns raised by Set", maxConns: 1,
			steps: []step{
				{op: "admit", ip: "192.0.2.1", open: 2, want: ErrOverloaded},
				{op: "set", set: [3]int{2, 0, 0}},
				{op: "admit", ip: "192.0.2.1", open: 2},
			},
		},
	}
	start := time.Unix(1700000000, 0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lm := New(tt.maxConns, tt.perIP, tt.rate)
			for i, s := range tt.steps {
				ip := netip.MustParseAddr(cmp.Or(s.ip, "0.0.0.0"))
				now := start.Add(time.Duration(s.at) * time.Millisecond)
				var err error
				switch s.op {
				case "admit":
					err = lm.Admit(ip, s.open)
				case "release":
					lm.Release(ip, now)
				case "handshake":
					err = lm.Handshake(ip, now)
				case "set":
					lm.Set(s.set[0], s.set[1], s.set[2])
				}
				if err != s.want {
					t.Fatalf("step %d: %s(%s) at %dms = %v; want %v", i, s.op, s.ip, s.at, err, s.want)
				}
			}
			if got := entries(lm); got != tt.wantEntries {
				t.Errorf("addresses remembered: %d; want %d", got, tt.wantEntries)
			}
		})
	}
}

func entries(lm *Limiter) int {
	if lm == nil {
		return 0
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	return len(lm.ips)
}

// TestLimiterAllocs: after an address's first connection, admitting,
// releasing and handshaking allocate nothing (they run on accept and on
// the WebSocket handshake).
func TestLimiterAllocs(t *testing.T) {
	lm := New(100, 10, 1000)
	ip := netip.MustParseAddr("192.0.2.1")
	now := time.Unix(1700000000, 0)
	lm.Admit(ip, 1)
	allocs := testing.AllocsPerRun(100, func() {
		lm.Admit(ip, 2)
		now = now.Add(time.Second)
		lm.Handshake(ip, now)
		lm.Release(ip, now)
	})
	if allocs != 0 {
		t.Errorf("allocs per admit, handshake, release = %v; want 0", allocs)
	}
}

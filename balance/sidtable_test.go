package balance_test

import (
	"fmt"
	"testing"
	"time"

	"wsproxy/balance"
)

func TestSidTable(t *testing.T) {
	const ttl = time.Minute
	type op struct {
		kind   string // "learn", "lookup", "sweep"
		sid    string
		server uint64
		at     time.Duration
		want   uint64 // lookup: server; sweep: count
		wantOK bool   // lookup
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{name: "learn then lookup", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "lookup", sid: "a", at: time.Second, want: 7, wantOK: true},
			{kind: "lookup", sid: "b", at: time.Second},
		}},
		{name: "relearn replaces", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "learn", sid: "a", server: 9, at: time.Second},
			{kind: "lookup", sid: "a", at: 2 * time.Second, want: 9, wantOK: true},
		}},
		{name: "expires after idle TTL", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "lookup", sid: "a", at: ttl},
		}},
		{name: "lookup refreshes", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "lookup", sid: "a", at: ttl - time.Second, want: 7, wantOK: true},
			{kind: "lookup", sid: "a", at: 2*ttl - 2*time.Second, want: 7, wantOK: true},
			{kind: "sweep", at: 2 * ttl, want: 0},
			{kind: "lookup", sid: "a", at: 3 * ttl},
		}},
		{name: "sweep counts expired", ops: []op{
			{kind: "learn", sid: "a", server: 1},
			{kind: "learn", sid: "b", server: 2},
			{kind: "learn", sid: "c", server: 3, at: ttl / 2},
			{kind: "sweep", at: ttl, want: 2},
			{kind: "lookup", sid: "c", at: ttl, want: 3, wantOK: true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := balance.NewSidTable(100, ttl)
			for i, o := range tt.ops {
				now := t0.Add(o.at)
				switch o.kind {
				case "learn":
					tab.Learn([]byte(o.sid), o.server, now)
				case "lookup":
					got, ok := tab.Lookup([]byte(o.sid), now)
					if got != o.want || ok != o.wantOK {
						t.Errorf("op %d: Lookup(%q) = %d, %v; want %d, %v", i, o.sid, got, ok, o.want, o.wantOK)
					}
				case "sweep":
					if got := tab.Sweep(now); uint64(got) != o.want {
						t.Errorf("op %d: Sweep = %d; want %d", i, got, o.want)
					}
				}
			}
		})
	}
}

func TestSidTableBounded(t *testing.T) {
	const size = 64 * 16
	tab := balance.NewSidTable(size, time.Hour)
	for i := range 20 * size {
		tab.Learn(fmt.Appendf(nil, "sid-%d", i), uint64(i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := tab.Len(); n > size {
		t.Errorf("Len = %d; want at most %d", n, size)
	}
	// Sampled LRU: the newest sessions are kept.
	now := t0.Add(20 * size * time.Millisecond)
	for i := 20*size - 50; i < 20*size; i++ {
		if got, ok := tab.Lookup(fmt.Appendf(nil, "sid-%d", i), now); !ok || got != uint64(i) {
			t.Errorf("recent sid-%d: Lookup = %d, %v; want %d, true", i, got, ok, i)
		}
	}
}

func TestSidTableEvictsExpiredFirst(t *testing.T) {
	tab := balance.NewSidTable(64, time.Minute) // one entry per shard
	for i := range 64 * 8 {
		tab.Learn(fmt.Appendf(nil, "old-%d", i), 1, t0)
	}
	later := t0.Add(time.Hour)
	// The shard of a sid depends on the table's random seed. Each shard must
	// receive at least one new sid for every old one to be evicted: with 64
	// new sids per shard on average, the chance that some shard gets none is
	// about 64·e⁻⁶⁴ (with 8 per shard it was 2%, and this test flaked in CI).
	for i := range 64 * 64 {
		tab.Learn(fmt.Appendf(nil, "new-%d", i), 2, later)
	}
	if n := tab.Len(); n > 64 {
		t.Errorf("Len = %d; want at most 64", n)
	}
	if n := tab.Sweep(later); n != 0 {
		t.Errorf("Sweep after refill found %d expired; want 0 (evicted first)", n)
	}
}

func TestSidTableLookupNoAlloc(t *testing.T) {
	tab := balance.NewSidTable(0, 0)
	sid := []byte("lv_VI97HAXpY6yYWAAAC")
	tab.Learn(sid, 3, t0)
	if n := testing.AllocsPerRun(100, func() { tab.Lookup(sid, t0) }); n != 0 {
		t.Errorf("Lookup allocates %v times; want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { tab.Learn(sid, 3, t0) }); n != 0 {
		t.Errorf("Learn of a known sid allocates %v times; want 0", n)
	}
}

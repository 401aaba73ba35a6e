package balance_test

import (
	"testing"
	"time"

	"wsproxy/balance"
)

func withSid(addr, sid string) *fakeReq {
	r := fromAddr(addr)
	r.query = map[string][]byte{"EIO": []byte("4"), "sid": []byte(sid)}
	return r
}

func TestSid(t *testing.T) {
	const ttl = time.Minute
	tests := []struct {
		name  string
		learn string // learnt on server b at t0
		setup func(t *testing.T, p *balance.Pool)
		sid   string        // sent
		at    time.Duration // after t0
		want  string        // letter; "ip" for the client address's ip_hash server
	}{
		{name: "learnt", learn: "s1", sid: "s1", want: "b"},
		{name: "learnt, just before TTL", learn: "s1", sid: "s1", at: ttl - time.Second, want: "b"},
		{name: "expired", learn: "s1", sid: "s1", at: ttl, want: "ip"},
		{name: "unknown", learn: "s1", sid: "s2", want: "ip"},
		{name: "no sid", learn: "s1", sid: "", want: "ip"},
		{name: "server down", learn: "s1", sid: "s1", setup: down("b:80"), want: "ip"},
	}
	// A client address whose ip_hash server is not b, so fallbacks show.
	var client, ipServer string
	probe := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyIPHash})
	for i := range 100 {
		client = v4(i).String()
		if ipServer = pickAt(t, probe, fromAddr(client), t0); ipServer != "b" {
			break
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicySid, SidTTL: ttl})
			p.Learn([]byte(tt.learn), server(t, p, "b:80"), t0)
			if tt.setup != nil {
				tt.setup(t, p)
			}
			want := tt.want
			if want == "ip" {
				want = ipServer
			}
			r := fromAddr(client)
			if tt.sid != "" {
				r = withSid(client, tt.sid)
			}
			if got := pickAt(t, p, r, t0.Add(tt.at)); got != want {
				t.Errorf("picked %s; want %s", got, want)
			}
		})
	}
}

func TestSidRefreshedOnUse(t *testing.T) {
	p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicySid, SidTTL: time.Minute})
	p.Learn([]byte("live"), server(t, p, "c:80"), t0)
	p.Learn([]byte("idle"), server(t, p, "c:80"), t0)
	// Used every 50s, "live" outlasts several TTLs; "idle" does not.
	for i := 1; i <= 5; i++ {
		if got := pickAt(t, p, withSid("10.9.9.9", "live"), t0.Add(time.Duration(i)*50*time.Second)); got != "c" {
			t.Fatalf("use %d: picked %s; want c", i, got)
		}
	}
	if n := p.Sweep(t0.Add(250 * time.Second)); n != 1 {
		t.Errorf("Sweep removed %d; want 1 (idle)", n)
	}
}

func TestSidFallbackHash(t *testing.T) {
	// With HashKey set, requests without a known sid use policy hash.
	p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicySid, HashKey: "header:X-Key"})
	h := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyHash, HashKey: "header:X-Key"})
	for _, r := range headerKeys(1000) {
		if a, b := pickAt(t, p, r, t0), pickAt(t, h, r, t0); a != b {
			t.Fatalf("sid fallback %s; hash %s", a, b)
		}
	}
}

func TestSidLearnOtherPolicies(t *testing.T) {
	p := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicyIPHash})
	p.Learn([]byte("s1"), server(t, p, "c:80"), t0) // no-op
	if p.Sweep(t0) != 0 {
		t.Errorf("Sweep on ip_hash pool did something")
	}
}

// memStore is a SidStore stand-in for a shared implementation.
type memStore struct{ m map[string]uint64 }

func (s *memStore) Learn(sid []byte, server uint64, _ time.Time) { s.m[string(sid)] = server }
func (s *memStore) Lookup(sid []byte, _ time.Time) (uint64, bool) {
	v, ok := s.m[string(sid)]
	return v, ok
}
func (s *memStore) Sweep(time.Time) int { return 0 }

func TestSidStoreReplaceable(t *testing.T) {
	st := &memStore{m: map[string]uint64{}}
	// Two pools (two worker processes) share one store: a session learnt by
	// one is routed by the other.
	a := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicySid, SidStore: st})
	b := mustPool(t, letters(1, 1, 1), balance.Config{Policy: balance.PolicySid, SidStore: st})
	a.Learn([]byte("shared"), server(t, a, "c:80"), t0)
	if got := pickAt(t, b, withSid("10.1.1.1", "shared"), t0); got != "c" {
		t.Errorf("other worker picked %s; want c", got)
	}
}

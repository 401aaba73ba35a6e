package balance

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// TestRendezvousPruningExact checks that skipping servers by the 1-u bound
// picks exactly what scoring every server picks.
func TestRendezvousPruningExact(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
	}{
		{name: "2 1 1", weights: []int{2, 1, 1}},
		{name: "16 mixed", weights: []int{1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 100}},
		{name: "64 mixed", weights: func() []int {
			w := make([]int, 64)
			for i := range w {
				w[i] = 1 + i%7
			}
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servers := make([]ServerConfig, len(tt.weights))
			for i, w := range tt.weights {
				servers[i] = ServerConfig{Addr: fmt.Sprintf("10.0.0.%d:80", i), Weight: w}
			}
			p, err := NewPool("t", servers, Config{Policy: PolicyIPHash})
			if err != nil {
				t.Fatal(err)
			}
			ns := time.Now().UnixNano()
			for k := range uint64(20000) {
				key := mix64(k)
				if got, want := p.rendezvous(key, ns), fullScore(p, key); got != want {
					t.Fatalf("key %d: pruned %s; full %s", k, got.Addr, want.Addr)
				}
			}
		})
	}
}

// fullScore is rendezvous without pruning, on the primaries.
func fullScore(p *Pool, key uint64) *Server {
	var best *Server
	var bestScore float64
	for _, s := range p.tiers[0].servers {
		h := mix64(key ^ s.id)
		u := (float64(h>>11) + 0.5) * (1.0 / (1 << 53))
		if sc := float64(s.weight.Load()) / -math.Log(u); best == nil || sc > bestScore {
			best, bestScore = s, sc
		}
	}
	return best
}

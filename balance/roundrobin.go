package balance

import (
	"sync"
	"time"
)

// roundRobin is nginx's smooth weighted round robin: on each pick every
// available server's current weight grows by its weight, the largest
// current weight wins (the first in configuration order on a tie) and loses
// the sum of the weights. Weights {5,1,1} give a a b a c a a: the heavy
// server's turns are spread out rather than bunched as in plain weighted
// round robin. Unavailable servers sit out without changing the others'
// order.
//
// The current weights change on every pick, so they are kept under a mutex
// held for one pass over the tier: there is no lock-free way to update them
// all atomically, and the critical section is a few ns per server.
type roundRobin struct {
	mu sync.Mutex
	cw [][]int // current weight, by tier and position in the tier
}

// newRoundRobin makes the round robin of p, whose tiers are built.
func newRoundRobin(p *Pool) *roundRobin {
	rr := &roundRobin{cw: make([][]int, len(p.tiers))}
	for i, t := range p.tiers {
		rr.cw[i] = make([]int, len(t.servers))
	}
	return rr
}

// Select implements Selector.
func (rr *roundRobin) Select(p *Pool, _ Request, now time.Time) *Server {
	ns := now.UnixNano()
	rr.mu.Lock()
	defer rr.mu.Unlock()
	for i := range p.tiers {
		cw := rr.cw[i]
		best, total := -1, 0
		for j, s := range p.tiers[i].servers {
			if !s.availableAt(ns) {
				continue
			}
			w := int(s.weight.Load())
			cw[j] += w
			total += w
			if best < 0 || cw[j] > cw[best] {
				best = j
			}
		}
		if best >= 0 {
			cw[best] -= total
			return p.tiers[i].servers[best]
		}
	}
	return nil
}

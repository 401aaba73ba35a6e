package balance

import (
	"sync/atomic"
	"time"
)

// leastConn picks the available server with the fewest active tunnels and
// in-flight requests per unit of weight (Active/Weight, compared by cross
// multiplication, so no division). The scan starts one server further on
// each pick so that ties, such as an idle pool, rotate instead of piling on
// the first server.
//
// The counts are atomic and read without a lock: two loops picking at the
// same instant may both see the same least loaded server. That costs one
// extra tunnel on it, never a wrong MaxConns, which Acquire enforces.
type leastConn struct {
	next atomic.Uint32
}

// Select implements Selector.
func (lc *leastConn) Select(p *Pool, _ Request, now time.Time) *Server {
	ns := now.UnixNano()
	start := lc.next.Add(1)
	for i := range p.tiers {
		servers := p.tiers[i].servers
		n := len(servers)
		first := int(start % uint32(n))
		var best *Server
		var bestActive, bestWeight int64
		for j := range n {
			s := servers[(first+j)%n]
			if !s.availableAt(ns) {
				continue
			}
			a := s.active.Load()
			w := s.weight.Load()
			if best == nil || a*bestWeight < bestActive*w {
				best, bestActive, bestWeight = s, a, w
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

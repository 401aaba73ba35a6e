package balance

// Update returns the pool of servers and cfg that replaces p, for a
// configuration reload or a membership change (a DNS answer, the runtime
// API). It validates first and changes nothing when servers or cfg are
// invalid.
//
// A server whose address p has keeps its *Server: its count of tunnels and
// requests (least_conn, max_conns), its health and its learnt sids carry
// over, and its weight, max_conns and backup change in place, at once for
// p too. A server that goes and still has work keeps its *Server, whose
// count its tunnels release as they end, and gets it back if it returns
// in a later Update before that work is over. New servers start afresh.
// Hash policies (ip_hash, hash; cookie and sid by Addr) keep every client
// of a server that stays where it was: they use rendezvous hashing over
// the addresses, so only the clients of a removed server move, and an
// added one takes only its share.
//
// The sid table of policy sid carries over unless cfg names another
// SidStore. Selector state (round robin's current weights) starts afresh.
// p stays usable by picks already under way; new picks go to the pool
// returned. Update must not run concurrently with itself on the same p.
func (p *Pool) Update(servers []ServerConfig, cfg Config) (*Pool, error) {
	if err := Validate(servers, cfg); err != nil {
		return nil, err
	}
	if cfg.SidStore == nil && p.sids != nil && cfg.Policy == PolicySid {
		cfg.SidStore = p.sids
	}
	old := make(map[string]*Server, len(p.servers)+len(p.retired))
	for addr, s := range p.retired {
		old[addr] = s
	}
	for _, s := range p.servers {
		old[s.Addr] = s
	}
	np := build(p.name, servers, cfg, func(addr string) *Server {
		s := old[addr]
		delete(old, addr)
		return s
	})
	for addr, s := range old {
		if s.Active() > 0 {
			if np.retired == nil {
				np.retired = make(map[string]*Server)
			}
			np.retired[addr] = s
		}
	}
	return np, nil
}

// Has reports whether s is one of p's servers.
func (p *Pool) Has(s *Server) bool { return p.byID[s.id] == s }

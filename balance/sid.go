package balance

import "time"

// sidSticky routes Engine.IO requests to the server that issued their
// session. The core feeds the sid of each handshake response to Pool.Learn
// (see ParseEngineIOHandshake); later requests carry it as ?sid=, both
// polling requests and the WebSocket upgrade, and are sent to that server
// while it is available. Each hit refreshes the entry's idle TTL.
//
// Requests without a sid (the handshake itself), with one not or no longer
// known, or naming a server that is down, full, or a backup while a primary
// is available, go to the fallback policy: hash or ip_hash by default, so
// that a client's handshake also lands somewhere stable.
type sidSticky struct {
	store    SidStore
	fallback Selector
}

// sidParam is Engine.IO's query parameter for the session id.
const sidParam = "sid"

// Select implements Selector.
func (h *sidSticky) Select(p *Pool, r Request, now time.Time) *Server {
	if sid := r.Query(sidParam); len(sid) > 0 {
		if id, ok := h.store.Lookup(sid, now); ok {
			if s := p.byID[id]; s != nil && p.eligible(s, now.UnixNano()) {
				return s
			}
		}
	}
	return h.fallback.Select(p, r, now)
}

// Learn remembers that the Engine.IO session sid lives on s, typically
// right after ParseEngineIOHandshake found it in s's handshake response.
// It does nothing unless the pool's policy is sid. sid is copied or hashed,
// not retained.
func (p *Pool) Learn(sid []byte, s *Server, now time.Time) {
	if p.sids != nil && len(sid) > 0 {
		p.sids.Learn(sid, s.id, now)
	}
}

// Sweep drops the sids whose TTL has passed at now and returns how many
// (policy sid only; 0 otherwise). Lookups already ignore expired entries
// and a full table evicts by itself, so sweeping only returns memory
// sooner: call it from one loop's timer every TTL or so.
func (p *Pool) Sweep(now time.Time) int {
	if p.sids == nil {
		return 0
	}
	return p.sids.Sweep(now)
}

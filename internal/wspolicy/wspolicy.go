// Package wspolicy holds a route's WebSocket policy compiled from its
// config.WebSocket: frame checks, size limits, the idle timeout, pings,
// splice and allowed origins, and its conversion to and from the
// handover.Policy a tunnel handed to another process carries.
//
// It holds values, no connection: core applies the policy to the frames
// of each tunnel. It must not import core, the event loop (poller,
// internal/reactor, internal/sock), codec or balance.
package wspolicy

import (
	"time"

	"wsproxy/config"
	"wsproxy/internal/handover"
)

// Policy is a route's compiled config.WebSocket.
type Policy struct {
	Check                bool
	Splice               bool // large payloads may pass by splice(2) (core's splice.go)
	MaxFrame, MaxMessage int64
	Idle                 time.Duration // 0: the server's timeouts.idle
	Ping                 *Ping
	Origins              []string
}

// Ping is how a route pings: Peers[0] pings the client, Peers[1] the
// upstream.
type Ping struct {
	Interval, Timeout time.Duration
	Peers             [2]bool
}

// New compiles w; nil is the default policy: frames checked, splice on.
func New(w *config.WebSocket) *Policy {
	p := &Policy{Check: true, Splice: true}
	if w == nil {
		return p
	}
	if w.CheckFrames != nil {
		p.Check = *w.CheckFrames
	}
	if w.Splice != nil {
		p.Splice = *w.Splice
	}
	p.MaxFrame, p.MaxMessage = w.MaxFrame, w.MaxMessage
	p.Idle = time.Duration(w.Idle)
	p.Origins = w.Origins
	if pc := w.Ping; pc != nil {
		p.Ping = &Ping{Interval: time.Duration(pc.Interval), Timeout: time.Duration(pc.Timeout)}
		p.Ping.Peers[0] = pc.Peers == "client" || pc.Peers == "both"
		p.Ping.Peers[1] = pc.Peers == "upstream" || pc.Peers == "both"
	}
	return p
}

// Handover is p as a handover.Policy: what an established tunnel needs
// of it (not the origins).
func (p *Policy) Handover() handover.Policy {
	hp := handover.Policy{Check: p.Check, Splice: p.Splice, MaxFrame: p.MaxFrame, MaxMessage: p.MaxMessage, Idle: p.Idle}
	if pp := p.Ping; pp != nil {
		hp.PingInterval, hp.PingTimeout = pp.Interval, pp.Timeout
		for i, on := range pp.Peers {
			if on {
				hp.PingPeers |= 1 << i
			}
		}
	}
	return hp
}

// FromHandover is the Policy of a handover.Policy.
func FromHandover(hp *handover.Policy) *Policy {
	p := &Policy{Check: hp.Check, Splice: hp.Splice, MaxFrame: hp.MaxFrame, MaxMessage: hp.MaxMessage, Idle: hp.Idle}
	if hp.PingPeers != 0 {
		p.Ping = &Ping{Interval: max(hp.PingInterval, time.Millisecond), Timeout: max(hp.PingTimeout, time.Millisecond)}
		p.Ping.Peers = [2]bool{hp.PingPeers&1 != 0, hp.PingPeers&2 != 0}
	}
	return p
}

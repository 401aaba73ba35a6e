package core

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"wsproxy/config"
)

// ErrUnknownUpstream is the error of Servers and SetServers for an
// upstream the configuration does not have.
var ErrUnknownUpstream = errors.New("core: no such upstream")

// ServerState is one server of an upstream as it runs, for the runtime API.
type ServerState struct {
	config.Server      // its configuration: address, weight, max_conns, backup
	Up            bool // in rotation as far as health goes (active and passive checks)
	Drained       bool // taken out by DrainServer
	Active        int  // tunnels and requests counted against it (least_conn, max_conns)
	Tunnels       int  // open WebSocket tunnels to it
}

// Servers returns the servers of upstream in configuration order, with
// their state. Safe from any goroutine; it visits every loop to count
// tunnels.
func (s *Server) Servers(upstream string) ([]ServerState, error) {
	u := s.cur.Load().ups[upstream]
	if u == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUpstream, upstream)
	}
	m := u.members()
	defer s.holdMoves()() // none between two loops, uncounted
	var mu sync.Mutex
	tunnels := make(map[*server]int)
	s.each(func(l *Loop) {
		mine := make(map[*server]int)
		l.eachConn(func(c *conn) {
			if c.st == stTunnel && c.up != nil {
				mine[c.up.srv]++
			}
		})
		mu.Lock()
		for srv, n := range mine {
			tunnels[srv] += n
		}
		mu.Unlock()
	})
	now := time.Now()
	out := make([]ServerState, 0, len(m.list))
	for i, srv := range m.list {
		out = append(out, ServerState{Server: m.conf[i], Up: srv.b.Healthy(now), Drained: srv.drained.Load(),
			Active: srv.b.Active(), Tunnels: tunnels[srv]})
	}
	return out, nil
}

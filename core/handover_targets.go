package core

import (
	"net/netip"

	"wsproxy/balance"
	"wsproxy/config"
	"wsproxy/internal/handover"
	"wsproxy/internal/wspolicy"
)

// handoverTarget is where an imported tunnel belongs in this Server.
type handoverTarget struct {
	rt  *route
	srv *server
}

// detachedSet holds the routes and servers imported tunnels name but this
// Server's configuration does not have, so that the tunnels of one such
// server share one object (and one count).
type detachedSet struct {
	routes  map[string]*route
	servers map[[2]string]*server // by upstream and server name
}

// handoverTargets finds the route and server of each tunnel by name in
// the configuration the Server serves now. A route it no longer has is
// replaced by a detached one: the tunnel keeps the WebSocket policy it
// ran under and is counted under its old name (listed while tunnels of it
// are open). A server it no longer has (removed, or its upstream gone) is
// one the upstream still knows if it was removed with tunnels left, else
// a detached server of that name outside every pool: the tunnel counts
// against nothing new connections are balanced over. Either way the
// tunnel goes on until one side ends it, as on a server removed with
// on_remove: keep.
func (s *Server) handoverTargets(ts []handover.Tunnel) []handoverTarget {
	s.applyMu.Lock() // upstream.known
	defer s.applyMu.Unlock()
	cur := s.cur.Load()
	byName := make(map[string]*route)
	for _, rt := range cur.router.Values() {
		byName[rt.name] = rt
	}
	out := make([]handoverTarget, len(ts))
	s.importMu.Lock()
	defer s.importMu.Unlock()
	for i := range ts {
		st := &ts[i].State
		srv := s.handoverServer(cur, st)
		rt := byName[st.Route]
		if rt == nil {
			rt = s.detachedRoute(cur, st, srv)
		}
		out[i] = handoverTarget{rt: rt, srv: srv}
	}
	return out
}

// handoverServer returns the server st names, or a detached one. Called
// with applyMu and importMu held.
func (s *Server) handoverServer(cur *settings, st *handover.State) *server {
	if u := cur.ups[st.Upstream]; u != nil {
		if srv := u.known[st.Server]; srv != nil {
			return srv
		}
	}
	key := [2]string{st.Upstream, st.Server}
	if srv := s.detached.servers[key]; srv != nil {
		return srv
	}
	// A pool of one makes the balance.Server the accounting needs; it
	// is in no route and never picked.
	pool, err := balance.NewPool(st.Upstream, []balance.ServerConfig{{Addr: st.Server}}, balance.Config{})
	if err != nil {
		pool, _ = balance.NewPool(st.Upstream, []balance.ServerConfig{{Addr: "detached:0"}}, balance.Config{})
	}
	b := pool.Servers()[0]
	u := &upstream{name: st.Upstream}
	srv := &server{b: b, up: u, name: st.Server, obs: s.obs.Server(st.Upstream, st.Server)}
	srv.addr, _ = netip.ParseAddrPort(st.Server)
	u.m.Store(&members{pool: pool, servers: map[*balance.Server]*server{b: srv}, list: []*server{srv},
		policy: pool.Policy(), cfg: &config.Upstream{}})
	if s.detached.servers == nil {
		s.detached.servers = make(map[[2]string]*server)
	}
	s.detached.servers[key] = srv
	s.log.Warn("handover: a tunnel's server is not in this configuration; its tunnels go on outside the pool",
		"upstream", st.Upstream, "server", st.Server)
	return srv
}

// detachedRoute returns the detached route for st. Called with importMu
// held.
func (s *Server) detachedRoute(cur *settings, st *handover.State, srv *server) *route {
	if rt := s.detached.routes[st.Route]; rt != nil {
		return rt
	}
	rt := &route{up: srv.up, ws: wspolicy.FromHandover(&st.Policy), set: cur, name: st.Route, obs: s.obs.Route(st.Route, st.Upstream)}
	if s.detached.routes == nil {
		s.detached.routes = make(map[string]*route)
	}
	s.detached.routes[st.Route] = rt
	s.log.Warn("handover: a tunnel's route is not in this configuration; its tunnels keep their policy",
		"route", st.Route)
	return rt
}

package core

import (
	"fmt"
	"time"

	"wsproxy/config"
	"wsproxy/internal/realip"
	"wsproxy/internal/routing"
)

// settings are what a configuration sets that Apply changes in place:
// routes, upstreams, timeouts, limits, trusted proxies, log sampling. One
// is built per configuration and never changed after commit. Each Loop
// reads its own pointer (Loop.set), swapped on the loop's goroutine; other
// goroutines read Server.cur. A request or tunnel keeps the route it was
// given, and the route its settings (route.set), so what is in flight
// keeps the timeouts and WebSocket policy it started with.
type settings struct {
	cfg         *config.Config
	router      *routing.Table[*route] // router.go
	ups         map[string]*upstream   // balance.go; an upstream that stays is the same object
	timeouts    timeouts
	limits      config.Limits
	trusted     realip.Proxies // trusted_proxies
	underscores bool           // underscores_in_headers: forward field names with "_"
	sample      float64        // log.sample
}

// newSettings builds the settings of cfg. With prev (Apply), upstreams
// that stay are updated through prepare and not yet changed: commit does
// that. Nothing that runs is touched before commit, except the weights and
// caps of servers that stay (balance.Pool.Update), which apply at once.
func (s *Server) newSettings(cfg *config.Config, prev *settings) (*settings, error) {
	st := &settings{
		cfg:         cfg,
		limits:      cfg.Limits,
		underscores: cfg.UnderscoresInHeaders,
		sample:      1,
		timeouts: timeouts{
			Connect:    time.Duration(cfg.Timeouts.Connect),
			HeaderRead: time.Duration(cfg.Timeouts.HeaderRead),
			Idle:       time.Duration(cfg.Timeouts.Idle),
			Read:       time.Duration(cfg.Timeouts.Read),
			KeepAlive:  time.Duration(cfg.Timeouts.KeepAlive),
			Handshake:  time.Duration(cfg.Timeouts.Handshake),
		},
	}
	if p := cfg.Log.Sample; p != nil {
		st.sample = *p
	}
	for _, p := range cfg.TrustedProxies {
		pfx, err := config.ParsePrefix(p)
		if err != nil {
			return nil, fmt.Errorf("trusted_proxies: %w", err)
		}
		st.trusted = append(st.trusted, pfx)
	}
	var prevUps map[string]*upstream
	if prev != nil {
		prevUps = prev.ups
	}
	ups, err := s.prepareUpstreams(cfg, prevUps)
	if err != nil {
		return nil, err
	}
	st.ups = ups
	st.router = s.newRouter(st)
	return st, nil
}

// commit makes st the settings that new requests and tunnels see: the
// upstreams' new members first, then the Server's and every loop's pointer.
// It returns once every running loop has switched. Called with applyMu
// held, or from New.
func (s *Server) commit(st *settings) {
	for _, u := range st.ups {
		u.commit()
	}
	s.cur.Store(st)
	s.limit.Set(st.limits.MaxConns, st.limits.MaxConnsPerIP, st.limits.HandshakeRatePerIP)
	s.each(func(l *Loop) { l.use(st) })
}

// use makes st the loop's settings. It runs on the loop's goroutine.
func (l *Loop) use(st *settings) {
	l.set = st
	l.req.MaxHeaders, l.resp.MaxHeaders = st.limits.MaxHeaders, st.limits.MaxHeaders
}

// settings returns the settings that c's request or tunnel started with,
// or the loop's current ones between requests.
func (c *conn) settings() *settings {
	if c.rt != nil && c.rt.set != nil {
		return c.rt.set
	}
	return c.cl.l.set
}

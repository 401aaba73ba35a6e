package core

import (
	"regexp"

	"wsproxy/core/metrics"
	"wsproxy/internal/routing"
	"wsproxy/internal/wspolicy"
)

// route is a compiled config.Route: how it matches and rewrites
// (routing.Rule), and where it goes.
type route struct {
	routing.Rule
	up   *upstream
	ws   *wspolicy.Policy
	set  *settings      // the settings it belongs to: timeouts of what it serves
	name string         // for logs and metrics: host+path
	obs  *metrics.Route // its counters (metrics.go), shared by every route of this name and upstream
}

// newRouter compiles the routes of st's configuration into the table
// requests are matched against (internal/routing).
func (s *Server) newRouter(st *settings) *routing.Table[*route] {
	t := &routing.Table[*route]{}
	for _, cr := range st.cfg.Routes {
		var re *regexp.Regexp
		var to string
		if cr.Rewrite != nil {
			re, to = cr.Rewrite.Re, cr.Rewrite.To
			if re == nil {
				re = regexp.MustCompile(cr.Rewrite.Regex)
			}
		}
		rt := &route{
			Rule: routing.NewRule(cr.Host, cr.Path, cr.StripPrefix, re, to),
			up:   st.ups[cr.Upstream],
			ws:   wspolicy.New(cr.WebSocket),
			set:  st,
			name: cr.Host + cr.Path,
		}
		rt.obs = s.obs.Route(rt.name, cr.Upstream)
		t.Add(&rt.Rule, rt)
	}
	return t
}

package core

import (
	"regexp"

	"wsproxy/config"
	"wsproxy/internal/routing"
)

// route is a compiled config.Route: how it matches and rewrites
// (routing.Rule), and where it goes.
type route struct {
	routing.Rule
	up   *upstream
	ws   *wsPolicy
	name string // for logs and metrics: host+path
	idx  int    // position among the routes, for per-loop counters (metrics.go)
}

// newRouter compiles the routes of cfg into the table requests are matched
// against (internal/routing).
func newRouter(cfg *config.Config, ups map[string]*upstream) *routing.Table[*route] {
	t := &routing.Table[*route]{}
	for _, cr := range cfg.Routes {
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
			up:   ups[cr.Upstream],
			ws:   newWSPolicy(cr.WebSocket),
			name: cr.Host + cr.Path,
		}
		t.Add(&rt.Rule, rt)
	}
	return t
}

package core

import (
	"net/http"
	"sync"
	"time"

	"wsproxy/internal/config"
)

// startHealthChecks starts one goroutine per upstream that has a
// health_check: each round probes every server with an HTTP GET and marks
// it up (2xx or 3xx) or down. These goroutines are per upstream, not per
// connection, and stop when the Server closes.
func (s *Server) startHealthChecks() {
	for name, cu := range s.cfg.Upstreams {
		if cu.HealthCheck == nil || s.ups[name] == nil {
			continue
		}
		s.wg.Add(1)
		go func(u *upstream, hc *config.HealthCheck) {
			defer s.wg.Done()
			s.healthLoop(u, hc)
		}(s.ups[name], cu.HealthCheck)
	}
}

func (s *Server) healthLoop(u *upstream, hc *config.HealthCheck) {
	client := &http.Client{
		Timeout:   time.Duration(hc.Timeout),
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	t := time.NewTicker(time.Duration(hc.Interval))
	defer t.Stop()
	for {
		// Probe every server at once: a frozen one costs its timeout, not
		// a delay to the others' checks.
		var wg sync.WaitGroup
		for _, srv := range u.servers {
			wg.Add(1)
			go func(srv *server) {
				defer wg.Done()
				pc, scheme := s.tls.probeClient(srv, client)
				ok := probe(pc, scheme+"://"+srv.addr.String()+hc.Path, srv.name)
				was := srv.b.Healthy(time.Now())
				if srv.drained.Load() {
					return // out of service by an operator's drain
				}
				if ok {
					srv.b.MarkUp()
				} else {
					srv.b.MarkDown()
				}
				if ok != was {
					s.log.Info("health check", "upstream", u.name, "server", srv.name, "up", ok)
				}
			}(srv)
		}
		wg.Wait()
		select {
		case <-s.done:
			return
		case <-t.C:
		}
	}
}

func probe(c *http.Client, url, host string) bool {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return false
	}
	req.Host = host
	req.Header.Set("User-Agent", "wsproxy-health-check")
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 400
}

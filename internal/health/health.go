// Package health runs active health checks: each round probes every
// server of an upstream at once with an HTTP GET and reports it up (2xx or
// 3xx) or down. It knows URLs and HTTP clients, not connections or
// balancing: the caller says what a result means.
package health

import (
	"crypto/tls"
	"net/http"
	"sync"
	"time"
)

// Target is one server to probe.
type Target struct {
	Name string      // Host of the probe, and the server's name for the caller
	Addr string      // host:port to connect to
	TLS  *tls.Config // non-nil: probe over https with this client configuration

	// Report receives each probe's result, on a goroutine of the round.
	Report func(ok bool)
}

// Check is what and how often to probe.
type Check struct {
	Path              string
	Interval, Timeout time.Duration
}

// Run probes targets every c.Interval until done is closed; it runs on the
// caller's goroutine. The servers of a round are probed at once, so a
// frozen one costs its timeout, not a delay to the others' checks.
func Run(targets []Target, c Check, done <-chan struct{}) {
	plain := &http.Client{
		Timeout:   c.Timeout,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	clients := make([]*http.Client, len(targets))
	schemes := make([]string, len(targets))
	for i, tg := range targets {
		clients[i], schemes[i] = plain, "http"
		if tg.TLS != nil {
			tc := *plain
			tc.Transport = &http.Transport{DisableKeepAlives: true, Proxy: nil, TLSClientConfig: tg.TLS}
			clients[i], schemes[i] = &tc, "https"
		}
	}
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		var wg sync.WaitGroup
		for i, tg := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tg.Report(probe(clients[i], schemes[i]+"://"+tg.Addr+c.Path, tg.Name))
			}()
		}
		wg.Wait()
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}

// probe reports whether a GET of url, with Host host, answers 2xx or 3xx.
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

//go:build linux

package interop

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// target is one run of the script in the page: a front (wsproxy or
// nginx), a scheme and a server library.
type target struct {
	Name string `json:"name"` // "wsproxy/ws/node"
	Path string `json:"path"` // the base path of the script's connections
	skip string
	reps *reports          // the server's reports
	res  chan clientResult // the page's result, once
}

// TestChromium runs the script in headless Chromium, with the browser's
// defaults (it offers permessage-deflate on every WebSocket), against each
// server library through wsproxy, over ws:// and wss://. When nginx is
// installed the same page also runs through nginx, side by side, and the
// test logs both results.
func TestChromium(t *testing.T) {
	chrome, err := program("chromium", "chromium", "/usr/bin/chromium")
	if err != nil {
		t.Skip(err)
	}
	peers := startPeers(t)
	var targets []*target
	byName := map[string]*target{}
	for _, front := range []string{"wsproxy", "nginx"} {
		for _, scheme := range []string{"ws", "wss"} {
			for _, p := range peers {
				tg := &target{
					Name: front + "/" + scheme + "/" + p.name,
					Path: "/" + p.name + "/chromium-" + front + "-" + scheme,
					skip: p.skip, reps: p.reports, res: make(chan clientResult, 1),
				}
				targets = append(targets, tg)
				byName[tg.Name] = tg
			}
		}
	}
	page := startPageServer(t, byName)
	routes := map[string]string{"page": page}
	for _, p := range peers {
		if p.skip == "" {
			routes[p.name] = p.addr
		}
	}
	px := startProxy(t, routes)
	bases := map[string]func(string) string{"wsproxy": px.base}
	if n, err := startNginx(t, routes, px.certFile, px.keyFile); err != nil {
		for _, tg := range targets {
			if strings.HasPrefix(tg.Name, "nginx/") && tg.skip == "" {
				tg.skip = err.Error()
			}
		}
	} else {
		bases["nginx"] = n.base
	}
	// One frame per front and scheme, each loaded through its front.
	var frames []string
	for _, front := range []string{"wsproxy", "nginx"} {
		for _, scheme := range []string{"ws", "wss"} {
			var run []*target
			for _, tg := range targets {
				if strings.HasPrefix(tg.Name, front+"/"+scheme+"/") && tg.skip == "" {
					run = append(run, tg)
				}
			}
			if len(run) == 0 {
				continue
			}
			js, err := json.Marshal(run)
			if err != nil {
				t.Fatal(err)
			}
			origin := "http" + strings.TrimPrefix(bases[front](scheme), "ws")
			frames = append(frames, origin+"/page/page.html?targets="+url.QueryEscape(string(js)))
		}
	}
	js, err := json.Marshal(frames)
	if err != nil {
		t.Fatal(err)
	}
	browser := startChromium(t, chrome, "http://"+page+"/page/page.html?frames="+url.QueryEscape(string(js)))

	results := map[string]string{}
	for _, tg := range targets {
		t.Run(tg.Name, func(t *testing.T) {
			if tg.skip != "" {
				results[tg.Name] = "skipped: " + tg.skip
				t.Skip(tg.skip)
			}
			deadline := time.NewTimer(hangGuard)
			defer deadline.Stop()
			var res clientResult
			select {
			case res = <-tg.res:
			case <-browser.Exited():
				t.Fatalf("chromium exited before reporting %s", tg.Name)
			case <-deadline.C:
				t.Fatalf("no result from chromium for %s within %v", tg.Name, hangGuard)
			}
			results[tg.Name] = "ok, " + res.Extensions
			if res.Error != "" {
				results[tg.Name] = "FAILED: " + res.Error
			}
			checkScript(t, res, tg.reps, tg.Path+"/a")
		})
	}
	var b strings.Builder
	for _, tg := range targets {
		fmt.Fprintf(&b, "\n  %-26s %s", tg.Name, results[tg.Name])
	}
	t.Logf("Chromium page, side by side:%s", b.String())
}

// startPageServer serves chromium/page.html at /page/page.html and takes
// the page's results at /page/result; it returns its address.
func startPageServer(t *testing.T, targets map[string]*target) string {
	t.Helper()
	html, err := os.ReadFile("chromium/page.html")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	reported := map[string]bool{} // a result counts once
	mux := http.NewServeMux()
	mux.HandleFunc("GET /page/page.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(html)
	})
	mux.HandleFunc("POST /page/result", func(w http.ResponseWriter, r *http.Request) {
		var res struct {
			Name string `json:"name"`
			clientResult
		}
		if err := json.NewDecoder(r.Body).Decode(&res); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if tg := targets[res.Name]; tg != nil && !reported[res.Name] {
			reported[res.Name] = true
			tg.res <- res.clientResult
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// startChromium opens page in headless Chromium, which stays up until the
// end of the test.
func startChromium(t *testing.T, chrome, page string) *proc {
	t.Helper()
	// Not t.TempDir: Chromium's helper processes may still be going away
	// when the test ends, and a failed removal would fail the test.
	profile, err := os.MkdirTemp("", "interop-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	cmd := exec.Command(chrome,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage",
		// wss:// goes to wsproxy's test certificate; the page is served over
		// http, so nothing else depends on certificates.
		"--ignore-certificate-errors",
		"--user-data-dir="+profile, page)
	p := start(t, "chromium", cmd)
	go func() {
		for range p.Lines { // Chromium writes little to stdout; never block it
		}
	}()
	return p
}

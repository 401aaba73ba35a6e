package health

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wsproxy/internal/testutil"
)

// TestRun: every round probes every target with its Host and path and
// reports 2xx/3xx as up, anything else and a failed connect as down.
func TestRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/healthz" || r.Header.Get("User-Agent") != "wsproxy-health-check":
			w.WriteHeader(400)
		case strings.HasPrefix(r.Host, "up"):
			w.WriteHeader(204)
		case strings.HasPrefix(r.Host, "moved"):
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	deadAddr := testutil.RefusedAddr(t)

	addr := srv.Listener.Addr().String()
	var mu sync.Mutex
	got := map[string][]bool{}
	report := func(name string) func(bool) {
		return func(ok bool) { mu.Lock(); got[name] = append(got[name], ok); mu.Unlock() }
	}
	var targets []Target
	for _, name := range []string{"up", "moved", "sick"} {
		targets = append(targets, Target{Name: name, Addr: addr, Report: report(name)})
	}
	targets = append(targets, Target{Name: "up-but-gone", Addr: deadAddr, Report: report("gone")})
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		Run(targets, Check{Path: "/healthz", Interval: time.Millisecond, Timeout: 5 * time.Second}, done)
		close(stopped)
	}()
	testutil.WaitFor(t, "two rounds of reports", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["gone"]) >= 2
	})
	close(done)
	<-stopped
	want := map[string]bool{"up": true, "moved": true, "sick": false, "gone": false}
	for name, ok := range want {
		rs := got[name]
		if len(rs) < 2 {
			t.Fatalf("%s: %d reports; want at least 2 rounds", name, len(rs))
		}
		for _, r := range rs {
			if r != ok {
				t.Errorf("%s reported %v; want %v", name, r, ok)
			}
		}
	}
}

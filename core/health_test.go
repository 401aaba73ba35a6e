package core_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"wsproxy/internal/testutil"
)

// TestActiveHealthCheck: a server that accepts connections but fails its
// health probe is taken out of rotation, and comes back when it recovers.
func TestActiveHealthCheck(t *testing.T) {
	var sick atomic.Bool
	sick.Store(true)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo-Id", "sick")
		if r.URL.Path == "/healthz" && sick.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(ts.Close)
	good := startEcho(t, "good")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  u:
    health_check: {path: /healthz, interval: 50ms, timeout: 1s}
    servers: [{addr: %q}, {addr: %q}]
routes: [{path: /, upstream: u}]
`, strings.TrimPrefix(ts.URL, "http://"), good.Addr().String()))
	c := clientFrom("127.0.0.1")
	waitFor := func(what string, cond func(ids map[string]int) bool) {
		t.Helper()
		testutil.WaitFor(t, what, func() bool {
			ids := map[string]int{}
			for i := 0; i < 10; i++ {
				id, _ := getID(t, c, "http://"+addr+"/x", nil)
				ids[id]++
			}
			return cond(ids)
		})
	}
	waitFor("sick server out of rotation", func(ids map[string]int) bool { return ids["good"] == 10 })
	sick.Store(false)
	waitFor("recovered server back in rotation", func(ids map[string]int) bool { return ids["sick"] > 0 && ids["good"] > 0 })
}

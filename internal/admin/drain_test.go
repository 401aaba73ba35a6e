package admin

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wsproxy/config"
	"wsproxy/core/metrics"
)

// TestDrainEndpoints: POST /drain and /undrain reach the DrainFunc with the
// parsed parameters, in a single process and through a master's Workers.
func TestDrainEndpoints(t *testing.T) {
	type call struct {
		up, srv string
		window  time.Duration
		undrain bool
	}
	var calls []call
	drain := func(up, srv string, window time.Duration, undrain bool) (int, error) {
		if up != "u" {
			return 0, fmt.Errorf("no upstream %q", up)
		}
		calls = append(calls, call{up, srv, window, undrain})
		return 3, nil
	}
	snap := func() metrics.Snapshot { return metrics.Snapshot{} }
	dir := t.TempDir()
	ws, err := ServeWorker(dir, snap, drain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	workers := &Workers{Dir: dir}
	for _, tt := range []struct {
		name  string
		drain DrainFunc
	}{{"single process", drain}, {"master", workers.Drain}} {
		t.Run(tt.name, func(t *testing.T) {
			calls = nil
			h := httptest.NewServer(Handler(Config{Admin: config.Admin{Addr: "127.0.0.1:0"}, Metrics: snap, Drain: tt.drain}))
			t.Cleanup(h.Close)
			post := func(path string) (int, string) {
				resp, err := http.Post(h.URL+path, "text/plain", nil)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				return resp.StatusCode, string(b)
			}
			if code, body := post("/drain?upstream=u&server=a:1&window=2s"); code != 200 || !strings.Contains(body, "3 tunnels") {
				t.Errorf("drain: %d %q; want 200 with 3 tunnels", code, body)
			}
			if code, _ := post("/undrain?upstream=u&server=a:1"); code != 200 {
				t.Errorf("undrain: %d; want 200", code)
			}
			if code, _ := post("/drain?upstream=nope&server=a:1"); code != 404 {
				t.Errorf("unknown upstream: %d; want 404", code)
			}
			if code, _ := post("/drain?upstream=u"); code != 400 {
				t.Errorf("missing server: %d; want 400", code)
			}
			want := []call{{"u", "a:1", 2 * time.Second, false}, {"u", "a:1", 10 * time.Second, true}}
			if len(calls) != 2 || calls[0] != want[0] || calls[1].undrain != true {
				t.Errorf("calls = %v; want %v", calls, want)
			}
		})
	}
}

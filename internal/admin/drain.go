package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DrainFunc takes a backend server out of service (undrain false: its
// tunnels get Close 1001 spread over window, new traffic avoids it) or puts
// it back (undrain true). It returns how many tunnels it is closing.
type DrainFunc func(upstream, server string, window time.Duration, undrain bool) (int, error)

// defaultDrainWindow spreads a backend's closes when the request names none.
const defaultDrainWindow = 10 * time.Second

// drainHandler serves POST /drain and POST /undrain with the query
// parameters upstream, server and window (a Go duration, default 10s).
func drainHandler(drain DrainFunc, undrain bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		up, srv := q.Get("upstream"), q.Get("server")
		if up == "" || srv == "" {
			http.Error(w, "want ?upstream=NAME&server=ADDR", http.StatusBadRequest)
			return
		}
		window := defaultDrainWindow
		if v := q.Get("window"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				http.Error(w, "window: want a duration such as 30s", http.StatusBadRequest)
				return
			}
			window = d
		}
		n, err := drain(up, srv, window, undrain)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if undrain {
			fmt.Fprintf(w, "%s %s back in service\n", up, srv)
			return
		}
		fmt.Fprintf(w, "draining %s %s: %d tunnels closing over %v\n", up, srv, n, window)
	}
}

// Drain forwards a drain or undrain to every live worker and sums their
// answers; it is the master's DrainFunc.
func (w *Workers) Drain(upstream, server string, window time.Duration, undrain bool) (int, error) {
	entries, err := os.ReadDir(w.Dir)
	if err != nil {
		return 0, err
	}
	path := "/drain"
	if undrain {
		path = "/undrain"
	}
	q := url.Values{"upstream": {upstream}, "server": {server}, "window": {window.String()}}
	total, reached := 0, 0
	var errs []error
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".sock") {
			continue
		}
		sock := filepath.Join(w.Dir, e.Name())
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", sock)
			},
		}}
		resp, err := client.Post("http://worker"+path+"?"+q.Encode(), "text/plain", nil)
		if err != nil {
			continue // a worker that just exited
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			errs = append(errs, errors.New(strings.TrimSpace(string(body))))
			continue
		}
		reached++
		if f := strings.Fields(string(body)); len(f) > 3 && f[0] == "draining" {
			n, _ := strconv.Atoi(f[3])
			total += n
		}
	}
	if reached == 0 {
		if len(errs) > 0 {
			return 0, errs[0]
		}
		return 0, errors.New("no worker answered")
	}
	return total, nil
}

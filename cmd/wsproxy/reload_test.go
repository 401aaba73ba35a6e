package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"wsproxy/internal/echo"
	"wsproxy/internal/testutil"
)

// startEchoID starts an echo backend that names itself id.
func startEchoID(t *testing.T, id string) string {
	t.Helper()
	e, err := echo.New("127.0.0.1:0", id, 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e.Addr().String()
}

// backendOf returns the id of the echo backend that answered GET url.
func backendOf(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var r struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		return "", fmt.Errorf("GET %s: %s, %v", url, resp.Status, err)
	}
	return r.ID, nil
}

// pumpEchoes echoes on every connection, one goroutine per 10, until the
// returned function is called; that function returns the errors seen and
// how many echoes ran.
func pumpEchoes(conns []*websocket.Conn) func() ([]error, int) {
	stop := make(chan struct{})
	var mu sync.Mutex
	var errs []error
	total := 0
	var wg sync.WaitGroup
	for g := 0; g < len(conns); g += 10 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := g + i%min(10, len(conns)-g)
				c, msg := conns[k], fmt.Sprintf("during %d %d", k, i)
				c.SetReadDeadline(time.Now().Add(testutil.Deadline))
				err := c.WriteMessage(websocket.TextMessage, []byte(msg))
				var got []byte
				if err == nil {
					_, got, err = c.ReadMessage()
				}
				mu.Lock()
				if err == nil && string(got) != msg {
					err = fmt.Errorf("read %q; want %q", got, msg)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("connection %d: %w", k, err))
					mu.Unlock()
					return
				}
				total++
				mu.Unlock()
			}
		})
	}
	return func() ([]error, int) {
		close(stop)
		wg.Wait()
		return errs, total
	}
}

// TestReloadInPlace runs a master with two workers and reloads it with a
// route added, an upstream server removed and a timeout changed while 40
// WebSockets echo: no worker starts or stops, every WebSocket goes on
// echoing (those on the removed server too: on_remove: keep), new requests
// follow the new routes, and the reload is counted. The runtime API then
// adds the server back. A change of workers: starts a new generation.
func TestReloadInPlace(t *testing.T) {
	a, b, c := startEchoID(t, "a"), startEchoID(t, "b"), startEchoID(t, "c")
	path := filepath.Join(t.TempDir(), "wsproxy.yaml")
	write := func(workers int, servers, idle, extraRoute string) {
		text := fmt.Sprintf(`listen: [{addr: "127.0.0.1:0"}]
workers: %d
loops: 1
admin: {addr: "127.0.0.1:0"}
timeouts: {idle: %s}
upstreams:
  u: {servers: [%s]}
routes:
  - {path: /, upstream: u}
%s`, workers, idle, servers, extraRoute)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	both := fmt.Sprintf("{addr: %q}, {addr: %q}", a, b)
	write(2, both, "1h", "")
	p := startProc(t, "run", "-config", path)
	addr := p.WaitLog(t, `msg="generation serving" generation=1 workers=2 addrs=(\S+)`)[1]
	adminAddr := p.WaitLog(t, `msg="admin listening" addr=(\S+)`)[1]
	before := fmt.Sprint(p.workers(t))

	conns := dialWS(t, addr, 40)
	echoAll(t, conns, "before")
	stopPump := pumpEchoes(conns)

	write(2, fmt.Sprintf("{addr: %q}", a), "30m", fmt.Sprintf("  - {path: /new, upstream: %q}\n", c))
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="configuration applied in place" generation=1 .*routes_added="/new -> `+c+`" upstreams_added=`+c+` servers_removed="u `+b+`" changed=timeouts.idle`)

	if errs, n := stopPump(); len(errs) > 0 || n == 0 {
		t.Errorf("echoes during the reload: %d ran, errors %v", n, errs)
	}
	echoAll(t, conns, "after")
	for range 6 {
		if id, err := backendOf("http://" + addr + "/new/x"); err != nil || id != "c" {
			t.Errorf("GET /new/x: %q, %v; want c", id, err)
		}
		if id, err := backendOf("http://" + addr + "/x"); err != nil || id != "a" {
			t.Errorf("GET /x: %q, %v; want a (b was removed)", id, err)
		}
	}
	if after := fmt.Sprint(p.workers(t)); after != before {
		t.Errorf("workers %s after the reload; want the same %s", after, before)
	}
	if out := p.Out.String(); strings.Contains(out, "generation=2") || strings.Contains(out, "websocket closed") && strings.Contains(out, "drain") {
		t.Errorf("want no new generation and no drain; output:\n%s", out)
	}
	_, metrics := getBody(t, "http://"+adminAddr+"/metrics")
	for _, want := range []string{`wsproxy_reloads_total{result="applied"} 1`, `wsproxy_config_generation 2`} {
		if !strings.Contains(metrics, "\n"+want+"\n") {
			t.Errorf("no line %q in the metrics", want)
		}
	}

	// The runtime API: a's 40 tunnels or part of them, b back in.
	status, list := getBody(t, "http://"+adminAddr+"/upstreams/u/servers")
	if status != 200 || !strings.Contains(list, `"addr":"`+a+`"`) || !strings.Contains(list, "until the next reload") {
		t.Errorf("GET /upstreams/u/servers: %d %s", status, list)
	}
	req, _ := http.NewRequest("POST", "http://"+adminAddr+"/upstreams/u/servers?addr="+b, nil)
	if resp, err := client.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST add b: %v %v", resp, err)
	}
	seen := map[string]bool{}
	for range 20 {
		id, err := backendOf("http://" + addr + "/x")
		if err != nil {
			t.Fatal(err)
		}
		seen[id] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("after the runtime API added b, requests went to %v; want a and b", seen)
	}
	echoAll(t, conns, "after the API")

	// workers: 3 needs new processes: a new generation.
	write(3, both, "30m", "")
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="reload needs a new generation" changed=workers`)
	p.WaitLog(t, `msg="generation serving" generation=2 workers=3`)
	echoAll(t, conns, "old generation draining")
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReloadSingleProcess: without a master, SIGHUP applies the file in
// place (a WebSocket keeps echoing, the new route serves); a change of
// listen is refused, saying why, and changes nothing.
func TestReloadSingleProcess(t *testing.T) {
	a, c := startEchoID(t, "a"), startEchoID(t, "c")
	cfg := writeConfig(t, "", "127.0.0.1:0", a, "", "1s", "")
	file := filepath.Join(t.TempDir(), "addrs")
	p := startProc(t, "run", "-config", cfg, "-addr-file", file)
	addr := waitAddrFile(t, p, file)["listen"][0]
	conns := dialWS(t, addr, 3)
	echoAll(t, conns, "before")

	writeConfig(t, cfg, "127.0.0.1:0", a, "", "1s", fmt.Sprintf("  - {path: /new, upstream: %q}\n", c))
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="configuration applied in place" config=\S+ routes_added="/new -> `+c)
	echoAll(t, conns, "after")
	if id, err := backendOf("http://" + addr + "/new/x"); err != nil || id != "c" {
		t.Errorf("GET /new/x: %q, %v; want c", id, err)
	}

	writeConfig(t, cfg, "127.0.0.2:0", a, "", "1s", "") // another address
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="reload refused: listen\[0\]\.addr changed, which needs new processes`)
	echoAll(t, conns, "after the refused reload")
	if id, err := backendOf("http://" + addr + "/new/x"); err != nil || id != "c" {
		t.Errorf("GET /new/x after the refused reload: %q, %v; want c", id, err)
	}
}

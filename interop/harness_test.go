//go:build linux

package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// hangGuard bounds every wait of the tests. It only turns a hang into a
// failure: nothing is timed.
const hangGuard = 60 * time.Second

// serverName is the name in the proxy's test certificate; wss clients
// connect to 127.0.0.1 and verify this name (Chromium ignores certificate
// errors instead).
const serverName = "interop.test"

// clientResult is what a client reports after the script (see doc.go).
type clientResult struct {
	Extensions string `json:"extensions"` // Sec-WebSocket-Extensions of the 101 of connection a
	Code       int    `json:"code"`       // Close code from the server on connection b
	Reason     string `json:"reason"`
	Error      string `json:"error"` // "step: what went wrong"; empty when the script passed
}

// serverReport is what a server reports when a connection ends.
type serverReport struct {
	Path       string `json:"path"`
	Extensions string `json:"extensions"` // as far as the library says
	Code       int    `json:"code"`       // Close code received (or sent, on connection b)
	Reason     string `json:"reason"`
	Error      string `json:"error"`
}

// reports collects the reports of one server by request path.
type reports struct {
	mu      sync.Mutex
	byPath  map[string]serverReport
	changed chan struct{} // closed and replaced on every add
}

func newReports() *reports {
	return &reports{byPath: map[string]serverReport{}, changed: make(chan struct{})}
}

func (r *reports) add(rep serverReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byPath[rep.Path] = rep
	close(r.changed)
	r.changed = make(chan struct{})
}

// get returns the report for path if it has come.
func (r *reports) get(path string) (serverReport, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep, ok := r.byPath[path]
	return rep, ok
}

// wait returns the report for path, or false at the hang guard.
func (r *reports) wait(path string) (serverReport, bool) {
	deadline := time.NewTimer(hangGuard)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		rep, ok := r.byPath[path]
		changed := r.changed
		r.mu.Unlock()
		if ok {
			return rep, true
		}
		select {
		case <-changed:
		case <-deadline.C:
			return serverReport{}, false
		}
	}
}

// proc is a program run with testutil.StartLines: its stdout arrives line
// by line, its group is killed at the end of the test and its stderr is
// logged if the test failed.
type proc = testutil.Proc

// start runs cmd as name.
func start(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	// Python would write __pycache__ into the repository.
	cmd.Env = append(cmd.Env, "PYTHONDONTWRITEBYTECODE=1")
	return testutil.StartLines(t, name, cmd)
}

// startServer runs a server script that prints READY {"port":N} and then
// one serverReport per line, and returns its address.
func startServer(t *testing.T, name string, cmd *exec.Cmd) (string, *reports) {
	t.Helper()
	p := start(t, name, cmd)
	var ready struct {
		Port int `json:"port"`
	}
	if err := p.Ready(time.Now().Add(hangGuard), &ready); err != nil {
		t.Fatal(err)
	}
	if ready.Port == 0 {
		t.Fatalf("%s: got READY %+v; want READY {\"port\":N}", name, ready)
	}
	reps := newReports()
	go func() {
		for line := range p.Lines {
			var rep serverReport
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				rep = serverReport{Path: "?", Error: fmt.Sprintf("unreadable line %q", line)}
			}
			reps.add(rep)
		}
	}()
	return fmt.Sprintf("127.0.0.1:%d", ready.Port), reps
}

// runClient runs a client script to its one result line.
func runClient(t *testing.T, name string, cmd *exec.Cmd) clientResult {
	t.Helper()
	p := start(t, name, cmd)
	line, err := p.Next(time.Now().Add(hangGuard))
	if err != nil {
		return clientResult{Error: err.Error()}
	}
	var res clientResult
	if err := json.Unmarshal([]byte(line), &res); err != nil {
		return clientResult{Error: fmt.Sprintf("unreadable result %q", line)}
	}
	return res
}

// proxy is wsproxy run in-process with a plain and a TLS listener.
type proxy struct {
	ws, wss  string // base URLs, "ws://127.0.0.1:N"
	certFile string // the TLS listener's chain, CA included: what wss clients trust
	keyFile  string
}

// startProxy starts wsproxy with a route /NAME/ to each upstream address
// in routes.
func startProxy(t *testing.T, routes map[string]string) *proxy {
	t.Helper()
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "proxy", testcert.Spec{Names: []string{serverName}})
	var b strings.Builder
	fmt.Fprintf(&b, "listen:\n  - addr: \"127.0.0.1:0\"\n  - addr: \"127.0.0.1:0\"\n    tls: {cert: %q, key: %q}\nroutes:\n", cert, key)
	for name, addr := range routes {
		fmt.Fprintf(&b, "  - path: /%s/\n    upstream: %q\n", name, addr)
	}
	cfg, err := config.Parse("interop.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, b.String())
	}
	srv, err := core.New(cfg, core.Options{Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Close)
	a := srv.Addrs()
	return &proxy{ws: "ws://" + a[0].String(), wss: "wss://" + a[1].String(), certFile: cert, keyFile: key}
}

// base is the proxy's base URL for scheme "ws" or "wss".
func (p *proxy) base(scheme string) string {
	if scheme == "wss" {
		return p.wss
	}
	return p.ws
}

// python is Debian's interpreter, the one python3-websockets installs for:
// the python3 on PATH may be another one.
const python = "/usr/bin/python3"

var pythonCheck = sync.OnceValue(func() error {
	out, err := exec.Command(python, "-c", "import websockets").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s cannot import websockets (%v: %s): apt-get install python3-websockets", python, err, bytes.TrimSpace(out))
	}
	return nil
})

// nodeCheck says why the Node peers cannot run, or nil.
func nodeCheck() error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH: apt-get install nodejs npm, then (cd interop/node && npm ci)")
	}
	if _, err := os.Stat(filepath.Join("node", "node_modules", "ws", "package.json")); err != nil {
		return fmt.Errorf("ws is not installed in interop/node/node_modules: (cd interop/node && npm ci)")
	}
	return nil
}

// program finds a program on PATH or at one of the usual places, or
// returns an error naming the Debian package.
func program(name, pkg string, places ...string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, p := range places {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed: apt-get install %s", name, pkg)
}

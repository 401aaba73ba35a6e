//go:build linux

package e2e_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testutil"
)

// nodeDir is the Node project holding the Socket.IO scripts, relative to
// this package's directory (the working directory of its tests).
const nodeDir = "node"

// installHint is the command that makes the tests runnable.
const installHint = "(cd e2e/node && npm ci --no-audit --no-fund)"

// requireNode skips the test unless node is on PATH and the Socket.IO
// packages are installed in nodeDir.
func requireNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skipf("node is not on PATH: these tests need Node.js 18.3 or later, then %s", installHint)
	}
	for _, pkg := range []string{"socket.io", "socket.io-client"} {
		if _, err := os.Stat(filepath.Join(nodeDir, "node_modules", pkg, "package.json")); err != nil {
			t.Skipf("%s is not installed in e2e/node/node_modules; run %s", pkg, installHint)
		}
	}
}

// proc is a Node process (testutil.StartLines: its stdout line by line,
// its group killed at the end of the test) with its stdin.
type proc struct {
	*testutil.Proc
	stdin io.WriteCloser
}

// startNode runs `node script args...` in nodeDir.
func startNode(t *testing.T, name, script string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command("node", append([]string{script}, args...)...)
	cmd.Dir = nodeDir
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	return &proc{Proc: testutil.StartLines(t, name, cmd), stdin: stdin}
}

// send writes one command line to the process's stdin.
func (p *proc) send(t *testing.T, line string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, line+"\n"); err != nil {
		t.Fatalf("%s: write %q: %v", p.Name, line, err)
	}
}

// sioServer is one Socket.IO server process (node/server.js).
type sioServer struct {
	id   string
	addr string // 127.0.0.1:PORT
	*proc
}

// startServers starts n Socket.IO servers, s1…sn, on free ports and waits
// for each to print its READY line.
func startServers(t *testing.T, n int) []*sioServer {
	t.Helper()
	servers := make([]*sioServer, n)
	for i := range servers {
		id := fmt.Sprintf("s%d", i+1)
		servers[i] = &sioServer{id: id, proc: startNode(t, "server "+id, "server.js", "0", id)}
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range servers {
		var ready struct {
			ID   string `json:"id"`
			Port int    `json:"port"`
		}
		if err := s.Ready(deadline, &ready); err != nil {
			t.Fatalf("server %s did not start: %v", s.id, err)
		}
		if ready.ID != s.id || ready.Port == 0 {
			t.Fatalf("server %s: got READY %+v; want READY {\"id\":%q,\"port\":N}", s.id, ready, s.id)
		}
		s.addr = fmt.Sprintf("127.0.0.1:%d", ready.Port)
		t.Logf("Socket.IO server %s on %s", s.id, s.addr)
	}
	return servers
}

// serverLines is the servers: list of an upstream in YAML.
func serverLines(servers []*sioServer) string {
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "      - addr: %q\n", s.addr)
	}
	return b.String()
}

// startProxy starts wsproxy in-process with the configuration yamlText and
// returns its base URL.
func startProxy(t *testing.T, yamlText string) string {
	t.Helper()
	cfg, err := config.Parse("e2e.yaml", []byte(yamlText))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yamlText)
	}
	srv, err := core.New(cfg, core.Options{Logger: testutil.LoggerLevel(t, slog.LevelInfo)})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Close)
	return "http://" + srv.Addrs()[0].String()
}

// event is one JSON line of node/clients.js; which fields are set depends
// on Event (see the script's header).
type event struct {
	Event       string   `json:"event"`
	Client      int      `json:"client"`
	Src         string   `json:"src"`
	Connected   bool     `json:"connected"`
	Upgraded    bool     `json:"upgraded"`
	Hello       string   `json:"hello"`
	Server      string   `json:"server"`
	Addrs       []string `json:"addrs"`
	OK          bool     `json:"ok"`
	Ms          int      `json:"ms"`
	Errors      []string `json:"errors"`
	Disconnects []string `json:"disconnects"`
	Reason      string   `json:"reason"`
	Message     string   `json:"message"`
	Error       string   `json:"error"`
	Clients     []struct {
		Client      int      `json:"client"`
		Src         string   `json:"src"`
		Connects    int      `json:"connects"`
		Servers     []string `json:"servers"`
		Disconnects []string `json:"disconnects"`
		Errors      []string `json:"errors"`
	} `json:"clients"`
}

// clientOpts are the options of one run of node/clients.js.
type clientOpts struct {
	url       string
	clients   int           // how many clients
	first     int           // client i connects from 127.0.0.(first+i); 0 means 2
	cookies   bool          // keep cookies (withCredentials)
	hold      bool          // stay connected after "ready", reconnecting, until stdin ends
	timeout   time.Duration // per client, to connect, upgrade and echo; 0 means 20s
	reconnect bool
}

func (o clientOpts) args() []string {
	if o.first == 0 {
		o.first = 2
	}
	if o.timeout == 0 {
		o.timeout = 20 * time.Second
	}
	a := []string{"--url", o.url, "--clients", fmt.Sprint(o.clients), "--first", fmt.Sprint(o.first),
		"--timeout", fmt.Sprint(o.timeout.Milliseconds())}
	if o.cookies {
		a = append(a, "--cookies")
	}
	if o.hold {
		a = append(a, "--hold")
	}
	if o.reconnect {
		a = append(a, "--reconnect")
	}
	return a
}

// readEvent returns the next JSON line of the client driver.
func readEvent(t *testing.T, p *proc, deadline time.Time) event {
	t.Helper()
	line, err := p.Next(deadline)
	if err != nil {
		t.Fatalf("clients: %v\nstderr:\n%s", err, p.Out)
	}
	var ev event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatalf("clients: line %q: %v", line, err)
	}
	return ev
}

// startClients starts node/clients.js and returns it with the result of
// every client, by index, once it has printed "done" or "ready".
func startClients(t *testing.T, o clientOpts) (*proc, []event) {
	t.Helper()
	p := startNode(t, "clients", "clients.js", o.args()...)
	timeout := o.timeout
	if timeout == 0 {
		timeout = 20 * time.Second
	}
	deadline := time.Now().Add(timeout + 10*time.Second) // plus Node's start-up
	results := make([]event, o.clients)
	for n := 0; ; {
		ev := readEvent(t, p, deadline)
		switch ev.Event {
		case "result":
			results[ev.Client] = ev
			n++
		case "done", "ready":
			if n != o.clients {
				t.Fatalf("clients: %q after %d results; want %d", ev.Event, n, o.clients)
			}
			return p, results
		}
	}
}

// runClients runs node/clients.js to the end and returns the results.
func runClients(t *testing.T, o clientOpts) []event {
	t.Helper()
	o.hold = false
	_, results := startClients(t, o)
	return results
}

// tally summarises results: how many clients succeeded, and how many of
// them each server served.
func tally(results []event) (ok int, perServer map[string]int) {
	perServer = map[string]int{}
	for _, r := range results {
		if r.OK {
			ok++
			perServer[r.Server]++
		}
	}
	return ok, perServer
}

// describe is one line per failed client, for failure messages.
func describe(results []event) string {
	var b strings.Builder
	for _, r := range results {
		if !r.OK {
			fmt.Fprintf(&b, "  client %d (%s): connected=%v upgraded=%v hello=%q server=%q errors=%q disconnects=%q\n",
				r.Client, r.Src, r.Connected, r.Upgraded, r.Hello, r.Server, r.Errors, r.Disconnects)
		}
	}
	return b.String()
}

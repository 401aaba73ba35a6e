//go:build linux

package interop

import (
	"os/exec"
	"strings"
	"testing"
)

// peer is one library as a server (addr, reports) and as a client (run).
// skip, when not empty, says why it cannot run here.
type peer struct {
	name    string
	skip    string
	addr    string
	reports *reports
	// run runs the script as a client against base; ca is the file wss
	// clients trust ("" for ws://).
	run func(t *testing.T, base, ca string) clientResult
}

// startPeers starts a server of each library and returns them as peers.
func startPeers(t *testing.T) []*peer {
	t.Helper()
	var peers []*peer
	for _, lib := range []string{"gorilla", "coder"} {
		p := &peer{name: lib, run: func(t *testing.T, base, ca string) clientResult {
			return runGoClient(lib, base, ca != "")
		}}
		p.addr, p.reports = startGoServer(t, lib)
		peers = append(peers, p)
	}

	py := &peer{name: "python", run: func(t *testing.T, base, ca string) clientResult {
		return runClient(t, "python client", exec.Command(python, "python/client.py", base, ca, serverName))
	}}
	if err := pythonCheck(); err != nil {
		py.skip = err.Error()
	} else {
		py.addr, py.reports = startServer(t, "python server", exec.Command(python, "python/server.py"))
	}
	peers = append(peers, py)

	node := &peer{name: "node", run: func(t *testing.T, base, ca string) clientResult {
		cmd := exec.Command("node", "client.js", base, ca, serverName)
		cmd.Dir = "node"
		return runClient(t, "node client", cmd)
	}}
	if err := nodeCheck(); err != nil {
		node.skip = err.Error()
	} else {
		cmd := exec.Command("node", "server.js")
		cmd.Dir = "node"
		node.addr, node.reports = startServer(t, "node server", cmd)
	}
	peers = append(peers, node)
	return peers
}

// TestLibraries runs the script (doc.go) with every client library against
// every server library but its own, through wsproxy over ws:// and wss://,
// with permessage-deflate negotiated end to end.
func TestLibraries(t *testing.T) {
	peers := startPeers(t)
	routes := map[string]string{}
	for _, p := range peers {
		if p.skip == "" {
			routes[p.name] = p.addr
		}
	}
	px := startProxy(t, routes)
	for _, scheme := range []string{"ws", "wss"} {
		for _, c := range peers {
			for _, s := range peers {
				if c == s {
					continue
				}
				t.Run(scheme+"/"+c.name+"-to-"+s.name, func(t *testing.T) {
					for _, p := range []*peer{c, s} {
						if p.skip != "" {
							t.Skip(p.skip)
						}
					}
					ca := ""
					if scheme == "wss" {
						ca = px.certFile
					}
					path := "/" + s.name + "/" + scheme + "-" + c.name
					checkScript(t, c.run(t, px.base(scheme)+path, ca), s.reports, path+"/a")
				})
			}
		}
	}
}

// checkScript checks a client's result and the server's report of
// connection a (at path) against the script.
func checkScript(t *testing.T, res clientResult, reps *reports, path string) {
	t.Helper()
	if res.Error != "" {
		rep, _ := reps.get(path)
		t.Fatalf("client: %s (server's report of connection a so far: %+v)", res.Error, rep)
	}
	if !strings.Contains(res.Extensions, "permessage-deflate") {
		t.Errorf("client: Sec-WebSocket-Extensions %q; want permessage-deflate", res.Extensions)
	}
	if res.Code != 4001 || res.Reason != "server done" {
		t.Errorf("client: got Close %d %q from the server; want 4001 \"server done\"", res.Code, res.Reason)
	}
	rep, ok := reps.wait(path)
	switch {
	case !ok:
		t.Errorf("server: no report for %s within %v", path, hangGuard)
	case rep.Code != 4000 || rep.Reason != "client done":
		t.Errorf("server: got Close %d %q from the client; want 4000 \"client done\" (report %+v)", rep.Code, rep.Reason, rep)
	}
}

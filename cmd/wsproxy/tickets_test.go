package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// TestWorkersShareTickets runs two workers behind one TLS port and a client
// with a session cache that connects again and again: the kernel spreads
// its connections over both workers (SO_REUSEPORT), and every one but the
// first resumes the session, wherever the ticket was issued. After a
// reload the new generation's workers resume the old one's tickets too.
func TestWorkersShareTickets(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	cfg := filepath.Join(dir, "wsproxy.yaml")
	text := fmt.Sprintf(`listen: [{addr: "127.0.0.1:0", tls: {cert: %q, key: %q}}]
loops: 1
drain_timeout: 5s
routes: [{path: /, upstream: %q}]
`, cert, key, startEcho(t))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, "run", "-config", cfg, "-workers", "2")
	addr := p.WaitLog(t, servingLine)[1]
	port := netip.MustParseAddrPort(addr).Port()
	client := &tls.Config{RootCAs: testcert.Roots(), ServerName: "ws.example.com",
		ClientSessionCache: tls.NewLRUClientSessionCache(4)}

	// Connect, one after the other, keeping each connection open so that
	// the worker holding it can be told, until there are 20 and both
	// workers hold some (the kernel picks by the connection's addresses:
	// 200 connections all on one worker would mean a broken SO_REUSEPORT).
	var conns []net.Conn
	closeAll := func() {
		for _, c := range conns {
			c.Close()
		}
		conns = nil
	}
	t.Cleanup(closeAll)
	full := 0
	var where map[string]int
	for len(conns) < 200 {
		c, resumed := resumeGet(t, addr, client)
		conns = append(conns, c)
		if !resumed {
			full++
		}
		if len(conns) < 20 {
			continue
		}
		where = map[string]int{}
		for pid, name := range p.workers(t) {
			where[name] = established(pid, port)
		}
		if len(where) == 2 && where["1.0"] > 0 && where["1.1"] > 0 {
			break
		}
	}
	t.Logf("%d connections, %d full handshakes; held by worker: %v", len(conns), full, where)
	if full != 1 {
		t.Errorf("%d of %d sequential connections made a full handshake; want 1 (the first): the others resume, whichever worker issued the ticket",
			full, len(conns))
	}
	if where["1.0"] == 0 || where["1.1"] == 0 {
		t.Fatalf("connections held by worker %v; want both workers to hold some", where)
	}

	// Reload: the old generation exits once its connections are closed;
	// the new one's workers resume the tickets the old one issued.
	// loops changes: a new generation (otherwise the file applies in place).
	closeAll()
	if err := os.WriteFile(cfg, []byte(strings.Replace(text, "loops: 1", "loops: 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Signal(t, syscall.SIGHUP)
	p.WaitLog(t, `msg="generation serving" generation=2 workers=2`)
	p.WaitLog(t, `msg="generation finished" generation=1`)
	for i := range 10 {
		c, resumed := resumeGet(t, addr, client)
		conns = append(conns, c)
		if !resumed {
			t.Errorf("connection %d after the reload made a full handshake; want a resumed session", i)
		}
	}
}

// resumeGet connects to addr over TLS, sends one request and reads its
// response (a TLS 1.3 client receives its ticket when it reads), and
// returns the open connection and whether its session was resumed.
func resumeGet(t *testing.T, addr string, client *tls.Config) (net.Conn, bool) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: testutil.Deadline}, "tcp", addr, client)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testutil.Deadline))
	if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: ws.example.com\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(string(body), "/x") {
		t.Fatalf("GET /x: %s %q %v", resp.Status, body, err)
	}
	return c, c.ConnectionState().DidResume
}

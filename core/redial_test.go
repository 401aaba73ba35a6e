//go:build linux

package core_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/balance"
)

// hangingAddr returns a loopback address whose connects hang: a listener
// with a backlog of 0 that never accepts, its queue filled by the test.
// The proxy's connect to it ends with its connect timeout.
func hangingAddr(t *testing.T) string {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "hanging listener")
	t.Cleanup(func() { f.Close() })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return addr // the queue is full: connects hang from now on
			}
			t.Fatalf("filling the queue of %s: %v", addr, err)
		}
		t.Cleanup(func() { c.Close() })
		if i == 8 {
			t.Fatalf("%s accepts more than %d connects with a backlog of 0", addr, i)
		}
	}
}

// TestRedialKeepsClientAddress: when a connect fails and the request is
// sent to another server, ip_hash must pick again with the same client
// address, even though another client's request was read meanwhile on the
// same loop. (It used the other client's, so an Engine.IO handshake and
// the requests after it could land on different servers.)
func TestRedialKeepsClientAddress(t *testing.T) {
	hang := hangingAddr(t)
	e1, e2 := startEcho(t, "e1"), startEcho(t, "e2")
	addrs := []string{hang, e1.Addr().String(), e2.Addr().String()}
	ids := map[string]string{addrs[1]: "e1", addrs[2]: "e2"}

	// Find, with package balance's own rendezvous hash, a client A whose
	// first choice is the hanging server and a client B whose choice
	// without it differs from A's.
	scs := make([]balance.ServerConfig, len(addrs))
	for i, a := range addrs {
		scs[i] = balance.ServerConfig{Addr: a}
	}
	pool, err := balance.NewPool("u", scs, balance.Config{Policy: balance.PolicyIPHash, MaxFails: -1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	choice := func(ip string) string {
		s, err := pool.Pick(clientIP(netip.MustParseAddr(ip)), now)
		if err != nil {
			t.Fatal(err)
		}
		s.Release()
		return s.Addr
	}
	// Rendezvous hashing ranks the servers per client, so a client whose
	// first choice is not the hanging server keeps that choice when it is
	// down: B's first choice is neither the hanging server nor A's second.
	up := map[string]string{}
	for i := 2; i < 250; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		up[ip] = choice(ip)
	}
	pool.Servers()[0].MarkDown()
	var a, b, wantA string
	for i := 2; i < 250 && a == ""; i++ {
		if ip := fmt.Sprintf("127.0.0.%d", i); up[ip] == hang {
			a, wantA = ip, choice(ip)
		}
	}
	for i := 2; i < 250 && b == "" && a != ""; i++ {
		if ip := fmt.Sprintf("127.0.0.%d", i); up[ip] != hang && up[ip] != wantA {
			b = ip
		}
	}
	if a == "" || b == "" {
		t.Fatalf("no client pair found (a %q, b %q)", a, b)
	}

	srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
timeouts: {connect: 1s}
upstreams:
  u:
    balance: ip_hash
    servers: [{addr: %q}, {addr: %q}, {addr: %q}]
routes: [{path: /, upstream: u}]
`, addrs[0], addrs[1], addrs[2]))

	// A's request is written before B's connection is even dialled, so the
	// loop reads it first and its connect to the hanging server is under
	// way while B's request is read and answered.
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(a)}}
	ca, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close() })
	writeAll(t, ca, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if id, resp := getID(t, clientFrom(b), "http://"+addr+"/", nil); resp.StatusCode != 200 {
		t.Fatalf("client B (%s): %d from %q", b, resp.StatusCode, id)
	}

	ca.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(ca), nil)
	if err != nil {
		t.Fatalf("client A (%s): %v", a, err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Echo-Id"); resp.StatusCode != 200 || got != ids[wantA] {
		t.Errorf("client A (%s) after its connect to %s timed out: %d from %q; want 200 from %s, its ip_hash choice without that server",
			a, hang, resp.StatusCode, got, ids[wantA])
	}
	var tried uint64
	for _, sm := range srv.Metrics().Servers {
		if sm.Server == hang {
			tried = sm.ConnectErrors
		}
	}
	if tried != 1 {
		t.Errorf("connect errors on %s: %d; want 1 (client A's)", hang, tried)
	}
}

// clientIP is a balance.Request with only a client address.
type clientIP netip.Addr

func (c clientIP) ClientAddr() netip.Addr { return netip.Addr(c) }
func (clientIP) Header(string) []byte     { return nil }
func (clientIP) Cookie(string) []byte     { return nil }
func (clientIP) Query(string) []byte      { return nil }

package core_test

import (
	"fmt"
	"net"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/core"
	"wsproxy/internal/sock"
	"wsproxy/internal/testutil"
)

// TestListenersHandedDown: a Server given listening sockets
// (Options.Listeners, as a master hands its workers) serves on them
// instead of binding, spread over its loops, and StopAccepting closes
// only its copies: a socket another process holds too (here the test, as
// the master and the next generation would) goes on listening, and a
// client that connects afterwards is accepted there intact.
func TestListenersHandedDown(t *testing.T) {
	e := startEcho(t, "e1")
	var given []int
	var keep *os.File // the test's copy of the first socket
	addr := "127.0.0.1:0"
	for i := range 3 { // three sockets for two loops: loop 0 takes two
		fd, bound, err := sock.Listen(addr, true)
		if err != nil {
			t.Fatal(err)
		}
		addr = bound.String()
		if i == 0 {
			dup, err := unix.Dup(fd)
			if err != nil {
				t.Fatal(err)
			}
			keep = os.NewFile(uintptr(dup), "listener")
			t.Cleanup(func() { keep.Close() })
		}
		given = append(given, fd)
	}
	srv, got := startProxyOpts(t, fmt.Sprintf(`
listen: [{addr: %q}]
loops: 2
routes:
  - path: /
    upstream: %q
`, addr, e.Addr().String()), core.Options{Logger: testutil.Logger(t), Listeners: [][]int{given}})
	if got != addr {
		t.Fatalf("Addrs()[0] = %s; want the given sockets' %s", got, addr)
	}
	for i := range 6 {
		c, _ := wsDial(t, "ws://"+addr+"/")
		echoOnce(t, c, fmt.Sprintf("m%d", i))
	}

	srv.StopAccepting()
	// Only the test's copy of the first socket is left: a client now lands
	// in its queue.
	ln, err := net.FileListener(keep)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	c := dialRaw(t, addr)
	defer c.Close()
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	a, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept on the socket after StopAccepting: %v", err)
	}
	defer a.Close()
	if a.RemoteAddr().String() != c.LocalAddr().String() {
		t.Errorf("accepted %s; want the client %s", a.RemoteAddr(), c.LocalAddr())
	}
}

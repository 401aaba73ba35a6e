package core_test

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketByAddrs finds, among this process's descriptors, the TCP socket
// bound to local and connected to peer (the proxy runs in the test's
// process), or fails the test.
func socketByAddrs(t *testing.T, local, peer netip.AddrPort) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		sa, err1 := unix.Getsockname(fd)
		pa, err2 := unix.Getpeername(fd)
		if err1 != nil || err2 != nil {
			continue
		}
		if inet4(sa) == local && inet4(pa) == peer {
			return fd
		}
	}
	t.Fatalf("no socket %s -> %s in this process", local, peer)
	return -1
}

func inet4(sa unix.Sockaddr) netip.AddrPort {
	if a, ok := sa.(*unix.SockaddrInet4); ok {
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// TestSocketBuffers: a listener's rcvbuf and sndbuf fix the buffers of
// every client socket it accepts, an upstream's those of every socket
// dialled to it (Linux reports twice the size asked for: its bookkeeping
// share), and with all of them fixed a client pushing into a backend that
// does not read is blocked after little more than their sum, where
// autotuned buffers let several megabytes in (TestBackPressure).
func TestSocketBuffers(t *testing.T) {
	const size = 16 << 10
	stop := make(chan struct{})
	peers := make(chan netip.AddrPort, 1)
	backend := rawBackend(t, func(c net.Conn) {
		if _, err := acceptWebSocket(c, bufio.NewReader(c), ""); err != nil {
			t.Errorf("backend: %v", err)
			return
		}
		peers <- netip.MustParseAddrPort(c.RemoteAddr().String())
		<-stop // never read
	})
	t.Cleanup(func() { close(stop) })
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0", rcvbuf: 16k, sndbuf: 16k}]
loops: 1
upstreams:
  stuck: {servers: [{addr: %q}], rcvbuf: 16k, sndbuf: "16384"}
routes:
  - {path: /, upstream: stuck}
`, backend))

	c, _ := rawWebSocket(t, addr, "/")
	var upLocal netip.AddrPort
	select {
	case upLocal = <-peers:
	case <-time.After(testDeadline):
		t.Fatal("backend saw no handshake")
	}
	proxyAddr := netip.MustParseAddrPort(addr)
	clientAddr := netip.MustParseAddrPort(c.LocalAddr().String())
	for _, s := range []struct {
		name        string
		local, peer netip.AddrPort
	}{
		{"client side", proxyAddr, clientAddr},
		{"upstream side", upLocal, netip.MustParseAddrPort(backend)},
	} {
		fd := socketByAddrs(t, s.local, s.peer)
		for _, o := range []struct {
			name string
			opt  int
		}{{"SO_RCVBUF", unix.SO_RCVBUF}, {"SO_SNDBUF", unix.SO_SNDBUF}} {
			got, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, o.opt)
			if err != nil {
				t.Fatalf("%s: %s: %v", s.name, o.name, err)
			}
			if got != 2*size {
				t.Errorf("%s: %s = %d; want %d (twice %d)", s.name, o.name, got, 2*size, size)
			}
		}
	}

	// Push: the client's own send buffer fixed small too, what gets in is
	// the fixed buffers (each at most its doubled size), the backend's
	// untuned receive buffer (it never reads, so it never grows past
	// tcp_rmem's default), the proxy's pending output (max_pending_bytes,
	// 64 KiB) and a splice pipe (64 KiB), plus 256 KiB for the segments
	// the kernel admits past a full buffer.
	if err := c.(*net.TCPConn).SetWriteBuffer(size); err != nil {
		t.Fatal(err)
	}
	writeAll(t, c, string(hugeFrameHeader(true)))
	n, blocked, err := push(c, 2*time.Second)
	if err != nil {
		t.Fatalf("push: %v after %d bytes", err, n)
	}
	limit := int64(4*2*size) + rmemDefault(t) + 2*64<<10 + 256<<10
	t.Logf("pushed %d bytes before blocking (limit %d)", n, limit)
	if !blocked || n > limit {
		t.Fatalf("pusher: blocked %v after %d bytes; want blocked after at most %d", blocked, n, limit)
	}
}

// rmemDefault is tcp_rmem's default: the receive buffer of a socket that
// never reads.
func rmemDefault(t *testing.T) int64 {
	var lo, def, hi int64
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_rmem")
	if err == nil {
		_, err = fmt.Sscan(string(b), &lo, &def, &hi)
	}
	if err != nil {
		t.Fatalf("tcp_rmem: %v", err)
	}
	return 2 * def
}

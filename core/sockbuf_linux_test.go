package core_test

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
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

// TestSocketBuffers: a listener's rcvbuf, sndbuf and notsent_lowat apply
// to every client socket it accepts, an upstream's to every socket dialled
// to it (Linux reports twice the buffer size asked for: its bookkeeping
// share); notsent_lowat is 128k unless set, 0 leaves the kernel's. A client
// pushing into a backend that does not read is then blocked after little
// more than what they allow, where autotuned buffers let 7-11 MB in
// (TestBackPressure).
func TestSocketBuffers(t *testing.T) {
	const k, unset = 1 << 10, -1
	pipeAndPending := int64(2 * 64 * k) // max_pending_bytes and a splice pipe
	slack := int64(256 * k)             // segments the kernel admits past a full buffer
	tests := []struct {
		name     string
		listen   string // options of the listen entry
		upstream string // options of the upstream
		// what getsockopt must give on the proxy's client and upstream
		// sockets; 0: not checked; unset: 0, which getsockopt gives for a
		// socket where the sysctl (tcp_notsent_lowat) applies
		rcv, snd  int
		lowat     int
		clientSnd int   // the pushing client's own SO_SNDBUF
		limit     int64 // most the client may push beyond pipeAndPending+slack; 0: not pushed
	}{
		{
			name:   "buffers fixed, default notsent_lowat",
			listen: "rcvbuf: 16k, sndbuf: 16k", upstream: `rcvbuf: 16k, sndbuf: "16384"`,
			rcv: 32 * k, snd: 32 * k, lowat: 128 * k, clientSnd: 16 * k,
			// the client's send buffer, the proxy's two sockets' receive
			// and send buffers, the backend's receive buffer (it never
			// reads, so it stays at tcp_rmem's default)
			limit: 4*32*k + 2*procInt(t, "/proc/sys/net/ipv4/tcp_rmem", 1),
		},
		{
			name:   "notsent_lowat alone bounds the upstream side",
			listen: "rcvbuf: 16k, notsent_lowat: 32k", upstream: "notsent_lowat: 32k",
			rcv: 0, snd: 0, lowat: 32 * k, clientSnd: 16 * k,
			// the client's send buffer and the proxy's client-side receive
			// buffer; toward the backend, 32k unsent and what its window
			// took (its receive buffer)
			limit: 2*32*k + 32*k + 2*procInt(t, "/proc/sys/net/ipv4/tcp_rmem", 1),
		},
		{
			name:   "notsent_lowat 0 leaves the kernel's",
			listen: "notsent_lowat: 0", upstream: "notsent_lowat: 0",
			lowat: unset,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
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
listen: [{addr: "127.0.0.1:0", %s}]
loops: 1
upstreams:
  stuck: {servers: [{addr: %q}], %s}
routes:
  - {path: /, upstream: stuck}
`, tt.listen, backend, tt.upstream))

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
					name       string
					level, opt int
					want       int
				}{
					{"SO_RCVBUF", unix.SOL_SOCKET, unix.SO_RCVBUF, tt.rcv},
					{"SO_SNDBUF", unix.SOL_SOCKET, unix.SO_SNDBUF, tt.snd},
					{"TCP_NOTSENT_LOWAT", unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT, tt.lowat},
				} {
					if o.want == 0 {
						continue
					}
					if o.want == unset {
						o.want = 0
					}
					got, err := unix.GetsockoptInt(fd, o.level, o.opt)
					if err != nil {
						t.Fatalf("%s: %s: %v", s.name, o.name, err)
					}
					if uint32(got) != uint32(o.want) {
						t.Errorf("%s: %s = %d; want %d", s.name, o.name, got, o.want)
					}
				}
			}
			if tt.limit == 0 {
				return
			}
			if err := c.(*net.TCPConn).SetWriteBuffer(tt.clientSnd); err != nil {
				t.Fatal(err)
			}
			writeAll(t, c, string(hugeFrameHeader(true)))
			n, blocked, err := push(c, 2*time.Second)
			if err != nil {
				t.Fatalf("push: %v after %d bytes", err, n)
			}
			limit := tt.limit + pipeAndPending + slack
			t.Logf("pushed %d bytes before blocking (limit %d)", n, limit)
			if !blocked || n > limit {
				t.Fatalf("pusher: blocked %v after %d bytes; want blocked after at most %d", blocked, n, limit)
			}
		})
	}
}

// procInt is the i-th number of a /proc file.
func procInt(t *testing.T, file string, i int) int64 {
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	f := strings.Fields(string(b))
	if i >= len(f) {
		t.Fatalf("%s: %q has no field %d", file, b, i)
	}
	v, err := strconv.ParseInt(f[i], 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return v
}

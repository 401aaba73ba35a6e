package sock_test

import (
	"errors"
	"net/netip"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// wait blocks until fd reports one of events, or fails after 5 s. poll(2)
// keeps these tests independent of the poller package.
func wait(t *testing.T, fd int, events int16) int16 {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		n, err := unix.Poll(fds, 5000)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if n == 0 {
			t.Fatalf("poll: fd %d not ready after 5s", fd)
		}
		return fds[0].Revents
	}
}

func closeAtCleanup(t *testing.T, fd int) {
	t.Cleanup(func() { unix.Close(fd) })
}

func listen(t *testing.T, addr string, reusePort bool) (int, netip.AddrPort) {
	t.Helper()
	fd, bound, err := sock.Listen(addr, reusePort)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addr, err)
	}
	closeAtCleanup(t, fd)
	return fd, bound
}

// dial connects to ln and accepts the connection, returning both ends once
// the connect has completed.
func dial(t *testing.T, lfd int, raddr, laddr netip.AddrPort) (client, server int, peer netip.AddrPort) {
	t.Helper()
	return dialWith(t, lfd, raddr, laddr, sock.Buffers{})
}

// pairWith is a connected pair from a listener given listener's buffers
// (SetBuffers) and a client given connect's (ConnectWith).
func pairWith(t *testing.T, listener, connect sock.Buffers) (client, server int) {
	t.Helper()
	lfd, bound, err := sock.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, lfd)
	if err := sock.SetBuffers(lfd, listener); err != nil {
		t.Fatalf("SetBuffers: %v", err)
	}
	client, server, _ = dialWith(t, lfd, bound, netip.AddrPort{}, connect)
	return client, server
}

// dialWith is dial with ConnectWith's buffers.
func dialWith(t *testing.T, lfd int, raddr, laddr netip.AddrPort, b sock.Buffers) (client, server int, peer netip.AddrPort) {
	t.Helper()
	client, err := sock.ConnectWith(raddr, laddr, b)
	if err != nil {
		t.Fatalf("ConnectWith(%v, %v, %+v): %v", raddr, laddr, b, err)
	}
	closeAtCleanup(t, client)
	wait(t, client, unix.POLLOUT)
	if err := sock.ConnectError(client); err != nil {
		t.Fatalf("ConnectError: %v", err)
	}
	for {
		server, peer, err = sock.Accept(lfd)
		if errors.Is(err, unix.EAGAIN) {
			wait(t, lfd, unix.POLLIN)
			continue
		}
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		closeAtCleanup(t, server)
		return client, server, peer
	}
}

func TestListenConnectAccept(t *testing.T) {
	tests := []struct {
		name  string
		addr  string
		laddr netip.AddrPort
		ipv6  bool
		linux bool // other loopback addresses exist by default only on Linux
	}{
		{name: "ipv4", addr: "127.0.0.1:0"},
		{name: "ipv4 from 127.0.0.2", addr: "127.0.0.1:0", laddr: netip.MustParseAddrPort("127.0.0.2:0"), linux: true},
		{name: "ipv6", addr: "[::1]:0", ipv6: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.linux && runtime.GOOS != "linux" {
				t.Skip("needs the Linux 127.0.0.0/8 loopback")
			}
			lfd, bound, err := sock.Listen(tt.addr, false)
			if tt.ipv6 && err != nil {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			if err != nil {
				t.Fatalf("Listen(%q): %v", tt.addr, err)
			}
			closeAtCleanup(t, lfd)
			if bound.Port() == 0 {
				t.Fatalf("bound = %v; want a non-zero port", bound)
			}
			client, server, peer := dial(t, lfd, bound, tt.laddr)

			local, err := sock.LocalAddr(client)
			if err != nil {
				t.Fatal(err)
			}
			if local != peer {
				t.Errorf("client LocalAddr = %v; server sees peer %v", local, peer)
			}
			if tt.laddr.IsValid() && peer.Addr() != tt.laddr.Addr() {
				t.Errorf("peer = %v; want address %v", peer, tt.laddr.Addr())
			}
			if got, err := sock.PeerAddr(client); err != nil || got != bound {
				t.Errorf("client PeerAddr = %v, %v; want %v", got, err, bound)
			}

			if _, err := unix.Write(client, []byte("ping")); err != nil {
				t.Fatalf("write: %v", err)
			}
			wait(t, server, unix.POLLIN)
			var buf [16]byte
			n, err := unix.Read(server, buf[:])
			if err != nil || string(buf[:n]) != "ping" {
				t.Errorf("read = %q, %v; want %q", buf[:n], err, "ping")
			}
			if v, _ := unix.GetsockoptInt(client, unix.IPPROTO_TCP, unix.TCP_NODELAY); v == 0 {
				t.Errorf("TCP_NODELAY not set on the connecting socket")
			}
			if fl, _ := unix.FcntlInt(uintptr(server), unix.F_GETFL, 0); fl&unix.O_NONBLOCK == 0 {
				t.Errorf("accepted socket is blocking")
			}
			if fl, _ := unix.FcntlInt(uintptr(server), unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
				t.Errorf("accepted socket is not close-on-exec")
			}
		})
	}
}

func TestAcceptEmpty(t *testing.T) {
	lfd, _ := listen(t, "127.0.0.1:0", false)
	if _, _, err := sock.Accept(lfd); !errors.Is(err, unix.EAGAIN) {
		t.Errorf("Accept on an empty queue: err = %v; want EAGAIN", err)
	}
}

func TestConnectRefused(t *testing.T) {
	lfd, bound, err := sock.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(lfd) // nothing listens on bound any more
	fd, err := sock.Connect(bound, netip.AddrPort{})
	if err != nil {
		// Loopback may refuse synchronously.
		if !errors.Is(err, unix.ECONNREFUSED) {
			t.Fatalf("Connect: err = %v; want nil or ECONNREFUSED", err)
		}
		return
	}
	closeAtCleanup(t, fd)
	wait(t, fd, unix.POLLOUT)
	if err := sock.ConnectError(fd); !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("ConnectError = %v; want ECONNREFUSED", err)
	}
}

func TestReusePort(t *testing.T) {
	tests := []struct {
		name      string
		reusePort bool
		wantErr   error
	}{
		{"with SO_REUSEPORT", true, nil},
		{"without SO_REUSEPORT", false, unix.EADDRINUSE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bound := listen(t, "127.0.0.1:0", tt.reusePort)
			fd, again, err := sock.Listen(bound.String(), tt.reusePort)
			if err == nil {
				closeAtCleanup(t, fd)
			}
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("second Listen(%v): err = %v; want %v", bound, err, tt.wantErr)
			}
			if err == nil && again != bound {
				t.Errorf("second listener bound to %v; want %v", again, bound)
			}
		})
	}
}

func TestListenBadAddr(t *testing.T) {
	for _, addr := range []string{"localhost:80", "127.0.0.1", "127.0.0.1:99999", "[::1%nosuchif]:0"} {
		if fd, _, err := sock.Listen(addr, false); err == nil {
			unix.Close(fd)
			t.Errorf("Listen(%q): got nil error; want one", addr)
		}
	}
}

func TestUnmappedPeer(t *testing.T) {
	lfd, bound, err := sock.Listen("[::]:0", false)
	if err != nil {
		t.Skipf("no IPv6: %v", err)
	}
	closeAtCleanup(t, lfd)
	if v, _ := unix.GetsockoptInt(lfd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); v != 0 {
		t.Skip("IPv6 listener is v6-only on this system")
	}
	raddr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), bound.Port())
	_, _, peer := dial(t, lfd, raddr, netip.AddrPort{})
	if !peer.Addr().Is4() {
		t.Errorf("peer = %v; want a plain IPv4 address", peer)
	}
}

// TestBuffers: SetBuffers on a listener fixes the buffers of the sockets
// it accepts, ConnectWith those of the connecting socket; zero sizes leave
// the kernel's (autotuned, so nothing to compare with). Linux reports twice the size set (its bookkeeping share),
// the BSDs the size itself.
func TestBuffers(t *testing.T) {
	tests := []struct {
		name     string
		listener sock.Buffers
		connect  sock.Buffers
	}{
		{"both sides", sock.Buffers{Rcv: 16 << 10, Snd: 24 << 10}, sock.Buffers{Rcv: 20 << 10, Snd: 12 << 10}},
		{"receive only", sock.Buffers{Rcv: 8 << 10}, sock.Buffers{Rcv: 8 << 10}},
		{"none: connects as Connect does", sock.Buffers{}, sock.Buffers{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := pairWith(t, tt.listener, tt.connect)
			for _, s := range []struct {
				side string
				fd   int
				want sock.Buffers
			}{{"accepted", server, tt.listener}, {"connecting", client, tt.connect}} {
				for _, o := range []struct {
					name string
					opt  int
					want int
				}{{"SO_RCVBUF", unix.SO_RCVBUF, s.want.Rcv}, {"SO_SNDBUF", unix.SO_SNDBUF, s.want.Snd}} {
					got, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, o.opt)
					if err != nil {
						t.Fatal(err)
					}
					fixed := o.want > 0 && (got == o.want || runtime.GOOS == "linux" && got == 2*o.want)
					if o.want > 0 && !fixed {
						t.Errorf("%s: %s = %d; want %d (or twice that on Linux)", s.side, o.name, got, o.want)
					}
				}
			}
		})
	}
}

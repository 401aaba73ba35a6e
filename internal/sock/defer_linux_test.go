package sock_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// TestSetDeferAccept: the option is set on a listener (the kernel reports
// a non-zero TCP_DEFER_ACCEPT), is not there without the call, and a
// connection that has sent its first bytes is handed over: the listener is
// readable and accept returns it with the bytes waiting.
func TestSetDeferAccept(t *testing.T) {
	lfd, bound, err := sock.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, lfd)
	if v, err := unix.GetsockoptInt(lfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT); err != nil || v != 0 {
		t.Fatalf("TCP_DEFER_ACCEPT before = %d, %v; want 0", v, err)
	}
	if !sock.SetDeferAccept(lfd, 1) {
		t.Fatal("SetDeferAccept = false on Linux")
	}
	if v, err := unix.GetsockoptInt(lfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT); err != nil || v == 0 {
		t.Fatalf("TCP_DEFER_ACCEPT after = %d, %v; want > 0", v, err)
	}

	cfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, cfd)
	a := bound.Addr().As4()
	if err := unix.Connect(cfd, &unix.SockaddrInet4{Port: int(bound.Port()), Addr: a}); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(cfd, []byte("GET")); err != nil {
		t.Fatal(err)
	}
	pfd := []unix.PollFd{{Fd: int32(lfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(pfd, 10_000); err != nil || n != 1 {
		t.Fatalf("listener not readable after the client's first bytes: %d, %v", n, err)
	}
	fd, _, err := sock.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, fd)
	buf := make([]byte, 8)
	if n, err := unix.Read(fd, buf); err != nil || string(buf[:n]) != "GET" {
		t.Fatalf("read right after accept: %q, %v; want \"GET\"", buf[:max(n, 0)], err)
	}
}

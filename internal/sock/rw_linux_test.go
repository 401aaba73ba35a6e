package sock_test

import (
	"errors"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// TestEstablishedAndReadWrite: a loopback connect is established when
// Connect returns, Write and Read move bytes, Read on an empty socket says
// EAGAIN, and a refused connect is never reported established.
func TestEstablishedAndReadWrite(t *testing.T) {
	lfd, bound, err := sock.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	lclosed := false
	t.Cleanup(func() {
		if !lclosed {
			unix.Close(lfd)
		}
	})
	fd, err := sock.Connect(bound, netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, fd)
	if !sock.Established(fd) {
		t.Fatal("Established = false right after a loopback connect")
	}
	afd, _, err := sock.Accept(lfd)
	if err != nil {
		t.Fatal(err)
	}
	closeAtCleanup(t, afd)
	if n, err := sock.Write(fd, []byte("hello")); n != 5 || err != nil {
		t.Fatalf("Write = %d, %v; want 5, nil", n, err)
	}
	wait(t, afd, unix.POLLIN)
	buf := make([]byte, 16)
	if n, err := sock.Read(afd, buf); n != 5 || err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %d %q, %v; want 5 \"hello\"", n, buf[:max(n, 0)], err)
	}
	if n, err := sock.Read(afd, buf); n != -1 || !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("Read on an empty socket = %d, %v; want -1, EAGAIN", n, err)
	}
	if n, err := sock.Write(fd, nil); n != 0 || err != nil {
		t.Fatalf("Write(nil) = %d, %v; want 0, nil", n, err)
	}
	unix.Close(lfd)
	lclosed = true
	rfd, err := sock.Connect(bound, netip.AddrPort{})
	if err != nil {
		return // refused synchronously
	}
	closeAtCleanup(t, rfd)
	if sock.Established(rfd) {
		t.Error("Established = true for a connect to a closed port")
	}
}

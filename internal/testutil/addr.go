package testutil

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"
)

// RefusedAddr returns a loopback address ("127.0.0.1:PORT") whose connects
// are refused. A socket bound to it that never listens holds the port until
// the test ends: the kernel answers a SYN with a reset, as for a port
// nobody holds, but no other socket can bind the port meanwhile. (Listening
// on port 0 and closing the listener gives a port that a parallel test or
// another process may take before it is dialled.)
func RefusedAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socket: %v", err)
	}
	syscall.CloseOnExec(fd)
	t.Cleanup(func() { syscall.Close(fd) })
	// No SO_REUSEADDR: a socket that sets it cannot share the port with
	// one that does not, so not even a listener with it can take the port.
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("bind 127.0.0.1:0: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("getsockname: %v", err)
	}
	return fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
}

// ListenFile listens on 127.0.0.1:0 and returns the address and the
// listening socket as a file, for a child process that takes its listener
// from its parent (cmd.ExtraFiles; nginx's NGINX environment variable, for
// one): the child listens before it starts, on a port no one else can
// take. Start and StartLines keep the socket non-blocking for the child.
// The test's copy of the socket is closed when the test ends.
func ListenFile(t testing.TB) (string, *os.File) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close() // f is a dup of the socket, which stays open with it
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatalf("listener file: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return ln.Addr().String(), f
}

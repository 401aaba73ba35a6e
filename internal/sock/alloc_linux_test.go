package sock

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAcceptConnectNoAlloc: accepting and dialling allocate nothing, so a
// burst of handshakes leaves no garbage behind to inflate the heap.
func TestAcceptConnectNoAlloc(t *testing.T) {
	lfd, bound, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	raddr := netip.AddrPortFrom(bound.Addr(), bound.Port())
	allocs := testing.AllocsPerRun(50, func() {
		c, err := Connect(raddr, netip.AddrPort{})
		if err != nil {
			t.Fatal(err)
		}
		var a int
		for {
			if a, _, err = Accept(lfd); err != unix.EAGAIN {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(a)
		unix.Close(c)
	})
	if allocs != 0 {
		t.Errorf("allocs per connect+accept = %v; want 0", allocs)
	}
}

// TestRecvSendNoAlloc: relaying a message (Send, Recv, the Recv that finds
// nothing more) allocates nothing.
func TestRecvSendNoAlloc(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	msg, buf := []byte("hello"), make([]byte, 16)
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := Send(fds[0], msg); n != len(msg) || err != nil {
			t.Fatalf("Send = %d, %v", n, err)
		}
		if n, err := Recv(fds[1], buf); n != len(msg) || err != nil {
			t.Fatalf("Recv = %d, %v", n, err)
		}
		if _, err := Recv(fds[1], buf); err != unix.EAGAIN {
			t.Fatalf("Recv on an empty socket: %v; want EAGAIN", err)
		}
	})
	if allocs != 0 {
		t.Errorf("allocs per Send+Recv = %v; want 0", allocs)
	}
}

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

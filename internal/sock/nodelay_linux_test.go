package sock_test

import (
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// TestAcceptInheritsNoDelay checks the kernel behaviour the proxy's
// listener relies on to skip a setsockopt per accepted connection: a
// connection accepted from a listener with TCP_NODELAY has it, and one
// accepted from a listener without it does not (so the check means
// something).
func TestAcceptInheritsNoDelay(t *testing.T) {
	if !sock.AcceptInheritsNoDelay {
		t.Fatal("AcceptInheritsNoDelay = false on Linux")
	}
	for _, tc := range []struct {
		name     string
		listener bool
		want     int
	}{
		{"listener with TCP_NODELAY", true, 1},
		{"listener without", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lfd, bound, err := sock.Listen("127.0.0.1:0", false)
			if err != nil {
				t.Fatal(err)
			}
			closeAtCleanup(t, lfd)
			if tc.listener {
				if err := sock.SetNoDelay(lfd); err != nil {
					t.Fatal(err)
				}
			}
			fd, err := sock.Connect(bound, netip.AddrPort{})
			if err != nil {
				t.Fatal(err)
			}
			closeAtCleanup(t, fd)
			afd, _, err := sock.Accept(lfd)
			if err != nil {
				t.Fatal(err)
			}
			closeAtCleanup(t, afd)
			got, err := unix.GetsockoptInt(afd, unix.IPPROTO_TCP, unix.TCP_NODELAY)
			if err != nil {
				t.Fatal(err)
			}
			if (got != 0) != (tc.want != 0) {
				t.Errorf("accepted connection's TCP_NODELAY = %d; want %d", got, tc.want)
			}
		})
	}
}

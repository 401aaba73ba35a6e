//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package sock

import (
	"net/netip"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// socket creates a TCP socket and makes it non-blocking and close-on-exec.
// Darwin has no SOCK_NONBLOCK/SOCK_CLOEXEC, so all the BSDs take the
// portable path; ForkLock keeps a concurrent fork+exec from inheriting it.
func socket(domain int) (int, error) {
	syscall.ForkLock.RLock()
	fd, err := unix.Socket(domain, unix.SOCK_STREAM, unix.IPPROTO_TCP)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl", err)
	}
	return fd, nil
}

// accept is accept(2) followed by fcntl, for the same reason as socket.
func accept(lfd int) (int, unix.Sockaddr, error) {
	syscall.ForkLock.RLock()
	fd, sa, err := unix.Accept(lfd)
	if err == nil {
		unix.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return -1, nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	return fd, sa, nil
}

// bindNoPort is a no-op: the BSDs have no IP_BIND_ADDRESS_NO_PORT.
func bindNoPort(fd int) {}

// acceptOne accepts and decodes the peer (BSD: through unix.Sockaddr).
func acceptOne(lfd int) (int, netip.AddrPort, error) {
	fd, sa, err := accept(lfd)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	return fd, addrPort(sa), nil
}

// connectTo starts connect(2) to ap.
func connectTo(fd int, ap netip.AddrPort) error {
	sa, _, err := sockaddr(ap)
	if err != nil {
		return err
	}
	return unix.Connect(fd, sa)
}

// AcceptInheritsNoDelay reports whether a connection accepted from a
// listener with TCP_NODELAY set has it set too. Not relied on here: the
// BSDs differ, and this code is not run on them.
const AcceptInheritsNoDelay = false

// SetDeferAccept is not done on the BSDs (their equivalent, accept
// filters, needs a kernel module): it reports false.
func SetDeferAccept(lfd, seconds int) bool { return false }

package sock

import (
	"os"

	"golang.org/x/sys/unix"
)

// optReusePort is the option that lets several listeners share a port with
// the kernel balancing new connections between them.
const optReusePort = unix.SO_REUSEPORT

// socket creates a non-blocking, close-on-exec TCP socket in one call.
func socket(domain int) (int, error) {
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// accept uses accept4 so the new descriptor is non-blocking and
// close-on-exec without extra fcntl calls.

// bindNoPort defers the choice of the local port from bind to connect, so
// that a load generator binding many sockets to one local IP with port 0 is
// limited by 4-tuples rather than by the ephemeral port range. Failure is
// harmless (older kernels): bind then picks the port as usual.
func bindNoPort(fd int) {
	unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
}

// AcceptInheritsNoDelay reports whether a connection accepted from a
// listener with TCP_NODELAY set has it set too. On Linux the accepted
// socket is a clone of the listener's and keeps its Nagle setting, which
// saves a setsockopt per accepted connection (nginx relies on the same).
const AcceptInheritsNoDelay = true

// SetDeferAccept makes the listener lfd hand over a connection only once
// its first bytes have arrived (TCP_DEFER_ACCEPT, nginx's listen
// "deferred", HAProxy's "defer-accept"), for up to about seconds; past
// that the kernel hands it over without data. A proxy whose clients speak
// first (HTTP, TLS, the PROXY protocol) then reads the request right after
// accept instead of waking again for it. It reports whether it is set.
func SetDeferAccept(lfd, seconds int) bool {
	return unix.SetsockoptInt(lfd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, seconds) == nil
}

//go:build !linux

package control

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// socketpair makes the two ends of a control socket. Without
// SOCK_CLOEXEC (macOS) the descriptors are marked close-on-exec under
// syscall.ForkLock, so that no child started meanwhile inherits them.
func socketpair() ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err != nil {
		return fds, err
	}
	unix.CloseOnExec(fds[0])
	unix.CloseOnExec(fds[1])
	return fds, nil
}

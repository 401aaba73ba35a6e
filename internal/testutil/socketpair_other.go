//go:build !linux

package testutil

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// StreamPair returns the two ends of a Unix stream socket pair, both
// close-on-exec, and non-blocking if nonblock. Without SOCK_CLOEXEC and
// SOCK_NONBLOCK (macOS) the flags are set after, under syscall.ForkLock.
func StreamPair(nonblock bool) ([2]int, error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		return fds, err
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if nonblock {
			if err := unix.SetNonblock(fd, true); err != nil {
				unix.Close(fds[0])
				unix.Close(fds[1])
				return fds, err
			}
		}
	}
	return fds, nil
}

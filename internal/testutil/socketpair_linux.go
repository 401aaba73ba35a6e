package testutil

import "golang.org/x/sys/unix"

// StreamPair returns the two ends of a Unix stream socket pair, both
// close-on-exec, and non-blocking if nonblock.
func StreamPair(nonblock bool) ([2]int, error) {
	typ := unix.SOCK_STREAM | unix.SOCK_CLOEXEC
	if nonblock {
		typ |= unix.SOCK_NONBLOCK
	}
	return unix.Socketpair(unix.AF_UNIX, typ, 0)
}

package control

import "golang.org/x/sys/unix"

// socketpair makes the two ends of a control socket, close-on-exec from
// the start.
func socketpair() ([2]int, error) {
	return unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
}

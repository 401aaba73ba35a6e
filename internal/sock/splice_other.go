//go:build !linux

package sock

import "golang.org/x/sys/unix"

// SpliceSupported: splice(2) is Linux only; elsewhere tunnels read and
// write, and none of these is called.
const SpliceSupported = false

// Pipe is not supported here.
func Pipe() (r, w int, err error) { return -1, -1, unix.ENOSYS }

// Splice is not supported here.
func Splice(in, out, n int) (int, error) { return 0, unix.ENOSYS }

// SendMore is not supported here.
func SendMore(fd int, p []byte) (int, error) { return 0, unix.ENOSYS }

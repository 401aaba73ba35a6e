package sock

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SpliceSupported: Linux has splice(2).
const SpliceSupported = true

// Pipe makes a non-blocking, close-on-exec pipe for Splice.
func Pipe() (r, w int, err error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return -1, -1, os.NewSyscallError("pipe2", err)
	}
	return fds[0], fds[1], nil
}

// Splice moves up to n bytes from descriptor in to out, one of which is a
// pipe, without the scheduler's system-call bookkeeping, as Read and Write
// do: both descriptors are non-blocking and SPLICE_F_NONBLOCK keeps the
// pipe side from waiting, so it never blocks. 0 bytes with a nil error
// from a socket is its end of stream.
func Splice(in, out, n int) (int, error) {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SPLICE, uintptr(in), 0, uintptr(out), 0,
			uintptr(n), unix.SPLICE_F_NONBLOCK|unix.SPLICE_F_MOVE)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}

// SendMore writes p (not empty) to socket fd with MSG_MORE: the kernel
// holds a partial segment for the bytes that follow.
func SendMore(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		unix.MSG_MORE|unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

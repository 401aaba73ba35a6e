package core

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// spliceSupported: Linux has splice(2).
const spliceSupported = true

// newPipe makes a non-blocking, close-on-exec pipe.
func newPipe() (*pipe, error) {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	return &pipe{r: fds[0], w: fds[1]}, nil
}

func closePipe(p *pipe) {
	_ = unix.Close(p.r)
	_ = unix.Close(p.w)
}

// spliceIn moves up to max bytes from socket fd into the empty pipe p. 0
// bytes with a nil error is the socket's end of stream.
func spliceIn(fd int, p *pipe, max int) (int, error) {
	return rawSplice(fd, p.w, max)
}

// spliceOut moves bytes from p to socket fd.
func spliceOut(p *pipe, fd int) (int, error) {
	return rawSplice(p.r, fd, p.n)
}

// rawSplice is splice(2) without the scheduler's system-call bookkeeping,
// as sock.Read and sock.Write are: both descriptors are non-blocking and
// SPLICE_F_NONBLOCK keeps the pipe side from waiting, so it never blocks.
func rawSplice(in, out, n int) (int, error) {
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

// sendMore writes p (not empty) to socket fd with MSG_MORE: the kernel holds a partial
// segment for the bytes that follow.
func sendMore(fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		unix.MSG_MORE|unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

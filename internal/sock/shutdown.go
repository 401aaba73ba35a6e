package sock

import "golang.org/x/sys/unix"

// Peek reports whether socket fd has a byte to read, without taking it:
// n is 1 then; 0 with a nil error is end of stream; EAGAIN nothing yet.
func Peek(fd int) (n int, err error) {
	var one [1]byte
	n, _, err = unix.Recvfrom(fd, one[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
	return n, err
}

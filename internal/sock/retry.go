package sock

import "golang.org/x/sys/unix"

// RecvRetry is Recv retried on EINTR; n is never negative.
func RecvRetry(fd int, p []byte) (int, error) {
	for {
		n, err := Recv(fd, p)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
}

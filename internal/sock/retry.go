package sock

import "golang.org/x/sys/unix"

// ReadRetry is Read retried on EINTR; n is never negative.
func ReadRetry(fd int, p []byte) (int, error) {
	for {
		n, err := Read(fd, p)
		if err == unix.EINTR {
			continue
		}
		return max(n, 0), err
	}
}

//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package sock

import "golang.org/x/sys/unix"

// Read is read(2) on a non-blocking descriptor (see rw_linux.go).
func Read(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

// Write is write(2) on a non-blocking descriptor (see rw_linux.go).
func Write(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// Recv reads from socket fd: read(2) here (Linux: recv(2), rw_linux.go).
func Recv(fd int, p []byte) (int, error) { return unix.Read(fd, p) }

// Send writes to socket fd: write(2) here (Linux: send(2), rw_linux.go).
func Send(fd int, p []byte) (int, error) { return unix.Write(fd, p) }

// Established reports false: on these systems the caller waits for the
// writable event after every connect.
func Established(fd int) bool { return false }

// ShutdownWrite half-closes socket fd: the peer reads end of stream once
// what was written has arrived.
func ShutdownWrite(fd int) error { return unix.Shutdown(fd, unix.SHUT_WR) }

// Close closes fd.
func Close(fd int) error { return unix.Close(fd) }

func setsockoptInt(fd, level, opt, v int) error { return unix.SetsockoptInt(fd, level, opt, v) }

//go:build !linux

package sock

import "golang.org/x/sys/unix"

// Ring is Linux's io_uring; elsewhere NewRing fails and callers
// send one write at a time.
type Ring struct{}

// NewRing is not supported here.
func NewRing(entries int) (*Ring, error) { return nil, unix.ENOSYS }

// Cap is 0.
func (r *Ring) Cap() int { return 0 }

// Send is never called here.
func (r *Ring) Send(fd int, p []byte, tag uint64) {}

// Recv is never called here.
func (r *Ring) Recv(fd int, p []byte, tag uint64) {}

// Submit is never called here.
func (r *Ring) Submit(done func(tag uint64, res int32)) error { return unix.ENOSYS }

// Close does nothing.
func (r *Ring) Close() error { return nil }

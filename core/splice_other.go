//go:build !linux

package core

import "golang.org/x/sys/unix"

// spliceSupported: splice(2) is Linux only; elsewhere tunnels read and
// write, and none of these is called.
const spliceSupported = false

func newPipe() (*pipe, error)                        { return nil, unix.ENOSYS }
func closePipe(p *pipe)                              {}
func spliceIn(fd int, p *pipe, max int) (int, error) { return 0, unix.ENOSYS }
func spliceOut(p *pipe, fd int) (int, error)         { return 0, unix.ENOSYS }
func sendMore(fd int, p []byte) (int, error)         { return 0, unix.ENOSYS }

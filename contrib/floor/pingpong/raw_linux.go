package main

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// rawLoop is the C echo's loop in Go: one epoll descriptor, a blocking
// epoll_pwait through RawSyscall6 (no netpoller, no scheduler), raw reads
// and writes.
func rawLoop(fd int, buf []byte) error {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
		return err
	}
	var events [8]unix.EpollEvent
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), ^uintptr(0), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		for range int(r) {
			n, rerr := sock.Read(fd, buf)
			switch {
			case rerr == unix.EAGAIN:
			case n <= 0 || rerr != nil:
				return nil
			default:
				if _, werr := sock.Write(fd, buf[:n]); werr != nil {
					return nil
				}
			}
		}
	}
}

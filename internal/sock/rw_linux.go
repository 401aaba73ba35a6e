package sock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read is read(2) on a non-blocking descriptor. It goes through
// RawSyscall: a non-blocking read never sleeps, so the scheduler's
// bookkeeping of a blocking call (entersyscall, and sysmon handing the P
// to another thread when the call seems slow) is pure cost for an event
// loop that makes one such call per message. n is -1 on error.
func Read(fd int, p []byte) (n int, err error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	} else {
		ptr = unsafe.Pointer(&zero)
	}
	r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// Write is write(2) on a non-blocking descriptor, through RawSyscall for
// the reason given at Read. On loopback the kernel delivers the bytes to
// the receiving socket inside this call: that is CPU work, not sleeping.
func Write(fd int, p []byte) (n int, err error) {
	var ptr unsafe.Pointer
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	} else {
		ptr = unsafe.Pointer(&zero)
	}
	r, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

var zero uintptr

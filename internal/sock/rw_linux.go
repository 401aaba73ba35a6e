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
func Read(fd int, p []byte) (n int, err error) { return rawRW(unix.SYS_READ, fd, p) }

// Write is write(2) on a non-blocking descriptor, through RawSyscall for
// the reason given at Read. On loopback the kernel delivers the bytes to
// the receiving socket inside this call: that is CPU work, not sleeping.
func Write(fd int, p []byte) (n int, err error) { return rawRW(unix.SYS_WRITE, fd, p) }

// rawRW is read(2) or write(2) (trap) through RawSyscall; n is -1 on error.
func rawRW(trap uintptr, fd int, p []byte) (int, error) {
	ptr := unsafe.Pointer(&zero)
	if len(p) > 0 {
		ptr = unsafe.Pointer(&p[0])
	}
	r, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(ptr), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

var zero uintptr

// Established reports whether the TCP connection on fd is established.
// A non-blocking connect to a loopback address completes inside
// connect(2): the caller can then write at once, without waiting for the
// writable event. It asks TCP_INFO for its first byte, tcpi_state, which
// the kernel allows (it copies min(len, sizeof(tcp_info))).
func Established(fd int) bool {
	var state [8]byte
	n := uint32(1)
	_, _, e := unix.RawSyscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_INFO,
		uintptr(unsafe.Pointer(&state[0])), uintptr(unsafe.Pointer(&n)), 0)
	return e == 0 && n >= 1 && state[0] == tcpEstablished
}

// tcpEstablished is TCP_ESTABLISHED of the kernel's enum of TCP states.
const tcpEstablished = 1

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

// Recv is recv(2) (recvfrom(2) without an address) on a non-blocking
// socket, through RawSyscall6 for the reason given at Read. The socket
// calls skip the file layer that read(2) goes through (vfs_read's checks
// and fsnotify, fdget_pos): 4.6 % less of the proxy's CPU per relayed
// message than Read and Write, 14 alternating rounds of 1,000 connections
// x 5 messages/s (BENCHMARKS.md, "recv and send"). nginx relays with them
// too. n is -1 on error.
func Recv(fd int, p []byte) (int, error) { return rawSock(unix.SYS_RECVFROM, fd, p, 0) }

// Send is send(2) with MSG_NOSIGNAL on a non-blocking socket (see Recv):
// a write to a connection the peer reset fails with EPIPE without raising
// SIGPIPE, which the Go runtime would otherwise catch and ignore.
func Send(fd int, p []byte) (int, error) { return rawSock(unix.SYS_SENDTO, fd, p, unix.MSG_NOSIGNAL) }

// rawRW is read(2) or write(2) (trap) through RawSyscall; n is -1 on error.
func rawRW(trap uintptr, fd int, p []byte) (int, error) {
	r, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)))
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// rawSock is recvfrom(2) or sendto(2) (trap) with flags and no address,
// through RawSyscall6; n is -1 on error.
func rawSock(trap uintptr, fd int, p []byte, flags int) (int, error) {
	r, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(bufPtr(p)), uintptr(len(p)), uintptr(flags), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(r), nil
}

// bufPtr is the address of p's first byte, or of a stand-in if p is empty.
func bufPtr(p []byte) unsafe.Pointer {
	if len(p) > 0 {
		return unsafe.Pointer(&p[0])
	}
	return unsafe.Pointer(&zero)
}

var zero uintptr

// The calls below go through RawSyscall too: on a non-blocking socket
// none of them sleeps (accept4 and connect return EAGAIN or EINPROGRESS;
// close without SO_LINGER, which nothing here sets, and shutdown queue a
// FIN and return). Through Syscall, each one would run the scheduler's
// entersyscall and exitsyscall, and entersyscall wakes the runtime's sysmon
// thread out of its deep sleep whenever every P was idle: a proxy whose
// loops park between events would keep sysmon polling every 20 us
// (BENCHMARKS.md, "TLS bulk: a loop that woke itself").

// ShutdownWrite half-closes socket fd: the peer reads end of stream once
// what was written has arrived.
func ShutdownWrite(fd int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_SHUTDOWN, uintptr(fd), unix.SHUT_WR, 0); e != 0 {
		return e
	}
	return nil
}

// Close closes fd, a socket or a pipe of the loops.
func Close(fd int) error {
	if _, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0); e != 0 {
		return e
	}
	return nil
}

func setsockoptInt(fd, level, opt, v int) error {
	v32 := int32(v)
	_, _, e := unix.RawSyscall6(unix.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(opt),
		uintptr(unsafe.Pointer(&v32)), 4, 0)
	if e != 0 {
		return e
	}
	return nil
}

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

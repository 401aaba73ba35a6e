package sock

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is an io_uring used for one thing: several send(2)s, or several
// recv(2)s, in one system call. A loop that relays small messages makes a read and a write
// per message; on a host where a system call costs microseconds (a
// paravirtualised guest: 2.5 us for send plus recv of 64 bytes on
// BENCHMARKS.md's machine, most of it the crossing) the crossings, not the
// TCP work, are most of a message's cost. The sends of one loop cycle go
// out in one io_uring_enter instead.
//
// Every send and receive is issued with MSG_DONTWAIT, so io_uring
// completes it inline during io_uring_enter (a socket that cannot take or
// give bytes completes with -EAGAIN instead of waiting): the ring never holds a request
// across calls, and the bytes passed need to live only until Submit
// returns. One goroutine at a time may use a ring.
type Ring struct {
	fd      int
	sqTail  *uint32
	sqMask  uint32
	sqArray []uint32
	sqes    []sqe
	cqHead  *uint32
	cqTail  *uint32
	cqMask  uint32
	cqes    []cqe
	queued  uint32 // entries prepared since the last Submit
	mem     [2][]byte
}

// sqe is struct io_uring_sqe (64 bytes).
type sqe struct {
	opcode, flags uint8
	ioprio        uint16
	fd            int32
	off, addr     uint64
	len, opFlags  uint32
	userData      uint64
	bufIndex      uint16
	personality   uint16
	spliceFdIn    int32
	addr3, pad    uint64
}

// cqe is struct io_uring_cqe (16 bytes, without the 32-byte extension).
type cqe struct {
	userData uint64
	res      int32
	flags    uint32
}

// uringParams is struct io_uring_params.
type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFd uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

const (
	sysIOUringSetup = 425
	sysIOUringEnter = 426

	opSend = 26 // IORING_OP_SEND
	opRecv = 27 // IORING_OP_RECV

	setupSubmitAll = 1 << 7 // IORING_SETUP_SUBMIT_ALL: a failed entry does not stop the rest
	enterGetEvents = 1      // IORING_ENTER_GETEVENTS

	offSQRing = 0
	offSQEs   = 0x10000000
)

// RingsOff reports whether WSPROXY_IO_URING=off turned the rings off
// (to compare, or on a kernel whose io_uring misbehaves).
func RingsOff() bool { return os.Getenv("WSPROXY_IO_URING") == "off" }

// NewRing sets up a ring of entries sends (a power of two). It fails
// where io_uring is missing or forbidden (old kernels, kernel.io_uring_disabled,
// seccomp profiles of container runtimes): the caller then writes one
// send at a time.
func NewRing(entries int) (*Ring, error) {
	if RingsOff() {
		return nil, unix.ENOSYS
	}
	var p uringParams
	p.flags = setupSubmitAll
	fd, _, e := unix.RawSyscall(sysIOUringSetup, uintptr(entries), uintptr(unsafe.Pointer(&p)), 0)
	if e != 0 {
		return nil, e
	}
	r := &Ring{fd: int(fd)}
	size := max(p.sqOff.array+p.sqEntries*4, p.cqOff.cqes+p.cqEntries*uint32(unsafe.Sizeof(cqe{})))
	rings, err := unix.Mmap(r.fd, offSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		_ = Close(r.fd)
		return nil, err
	}
	entriesMem, err := unix.Mmap(r.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(sqe{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		_ = unix.Munmap(rings)
		_ = Close(r.fd)
		return nil, err
	}
	r.mem = [2][]byte{rings, entriesMem}
	b := unsafe.Pointer(&rings[0])
	r.sqTail = (*uint32)(unsafe.Add(b, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(b, p.sqOff.ringMask))
	r.sqArray = unsafe.Slice((*uint32)(unsafe.Add(b, p.sqOff.array)), p.sqEntries)
	r.sqes = unsafe.Slice((*sqe)(unsafe.Pointer(&entriesMem[0])), p.sqEntries)
	r.cqHead = (*uint32)(unsafe.Add(b, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(b, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(b, p.cqOff.ringMask))
	r.cqes = unsafe.Slice((*cqe)(unsafe.Add(b, p.cqOff.cqes)), p.cqEntries)
	inlineProbe.Do(func() { inlineProbe.err = r.probeInline() })
	if inlineProbe.err != nil {
		_ = r.Close()
		return nil, inlineProbe.err
	}
	return r, nil
}

// inlineProbe is probeInline's verdict for this process's kernel.
var inlineProbe struct {
	sync.Once
	err error
}

// errNotInline: the kernel kept a non-blocking request past the call.
var errNotInline = errors.New("io_uring: a MSG_DONTWAIT send or recv that cannot proceed did not complete inside io_uring_enter")

// probeInline checks, once per process, what Submit relies on: a send
// to a full socket and a receive from an empty one, both MSG_DONTWAIT,
// complete inside io_uring_enter with -EAGAIN instead of waiting in the
// kernel (the kernels whose setup takes IORING_SETUP_SUBMIT_ALL, 5.18 and
// later, do). A kernel that queued them instead would make a loop wait
// for a peer; the loops then read and write one socket at a time.
func (r *Ring) probeInline() error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer Close(fds[0])
	defer Close(fds[1])
	_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 1) // the kernel's minimum: little to fill
	fill := make([]byte, 4096)
	for {
		if _, err := Send(fds[0], fill); err == unix.EAGAIN {
			break
		} else if err != nil {
			return err
		}
	}
	r.Send(fds[0], fill[:1], 0)
	r.Recv(fds[0], fill, 1) // nothing comes this way
	r.queued = 0
	n, _, e := unix.RawSyscall6(sysIOUringEnter, uintptr(r.fd), 2, 0, 0, 0, 0)
	if e != 0 {
		return e
	}
	if n != 2 {
		return errNotInline
	}
	eagain := 0
	got := r.reap(func(_ uint64, res int32) {
		if unix.Errno(-res) == unix.EAGAIN {
			eagain++
		}
	})
	if got != 2 || eagain != 2 {
		return errNotInline // (closing the ring cancels what it keeps)
	}
	return nil
}

// Cap is how many sends or receives one Submit can carry.
func (r *Ring) Cap() int { return len(r.sqes) }

// Send prepares send(fd, p, MSG_DONTWAIT|MSG_NOSIGNAL) with tag; Submit
// makes it. p must stay unchanged until Submit returns. At most Cap sends
// may wait.
func (r *Ring) Send(fd int, p []byte, tag uint64) {
	r.prep(opSend, fd, p, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL, tag)
}

// Recv prepares recv(fd, p, MSG_DONTWAIT) with tag; Submit makes it and
// reports the bytes read (0: end of stream) or a negated errno. p must
// not be touched until Submit returns.
func (r *Ring) Recv(fd int, p []byte, tag uint64) {
	r.prep(opRecv, fd, p, unix.MSG_DONTWAIT, tag)
}

func (r *Ring) prep(op uint8, fd int, p []byte, flags uint32, tag uint64) {
	t := *r.sqTail
	i := t & r.sqMask
	r.sqes[i] = sqe{
		opcode:   op,
		fd:       int32(fd),
		addr:     uint64(uintptr(bufPtr(p))),
		len:      uint32(len(p)),
		opFlags:  flags,
		userData: tag,
	}
	r.sqArray[i] = i
	atomic.StoreUint32(r.sqTail, t+1) // the kernel reads the entry only after it sees the tail
	r.queued++
}

// Submit makes the prepared sends and receives in one io_uring_enter and
// calls done with each one's tag and result: bytes sent or read, or a
// negated errno. It
// returns an error only if the ring itself failed: the ring is closed
// then, and done was called for none of the sends that had not completed
// (the caller writes them itself, in order).
func (r *Ring) Submit(done func(tag uint64, res int32)) error {
	want := r.queued
	if want == 0 {
		return nil
	}
	r.queued = 0
	// Non-blocking sends complete inside the call, so it does not sleep:
	// RawSyscall6, for the reason given at Read.
	for sent := uint32(0); sent < want; {
		n, _, e := unix.RawSyscall6(sysIOUringEnter, uintptr(r.fd), uintptr(want-sent), 0, 0, 0, 0)
		switch {
		case e == unix.EINTR || e == unix.EAGAIN:
			continue
		case e != 0:
			_ = r.Close() // the entries left in its queue must never go out later
			return e
		}
		sent += uint32(n)
	}
	for got := uint32(0); got < want; {
		got += r.reap(done)
		if got < want {
			// Not seen on a socket, but io_uring may hand a request to a
			// worker: wait for the rest (this may sleep, so through Syscall6).
			_, _, e := unix.Syscall6(sysIOUringEnter, uintptr(r.fd), 0, uintptr(want-got), enterGetEvents, 0, 0)
			if e != 0 && e != unix.EINTR {
				_ = r.Close()
				return e
			}
		}
	}
	return nil
}

// reap calls done for each completion waiting and reports how many.
func (r *Ring) reap(done func(tag uint64, res int32)) uint32 {
	h := *r.cqHead
	t := atomic.LoadUint32(r.cqTail)
	n := t - h
	for ; h != t; h++ {
		c := &r.cqes[h&r.cqMask]
		done(c.userData, c.res)
	}
	atomic.StoreUint32(r.cqHead, h)
	return n
}

// Close releases the ring.
func (r *Ring) Close() error {
	if r.fd < 0 {
		return nil
	}
	for _, m := range r.mem {
		_ = unix.Munmap(m)
	}
	fd := r.fd
	r.fd = -1
	return Close(fd)
}

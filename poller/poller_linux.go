package poller

import (
	"encoding/binary"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// Poller is an epoll instance plus an eventfd used by Wake.
type Poller struct {
	epfd   int
	wakefd int // eventfd, registered for EPOLLIN

	// pending is 1 from the first Wake until Wait has drained the eventfd,
	// so that a burst of Wakes costs one write.
	pending atomic.Uint32

	wmu    sync.Mutex // orders Wake's write against Close of wakefd
	closed bool       // guarded by wmu; read without it by the owner
	wbuf   [8]byte    // guarded by wmu

	rbuf   [8]byte
	events [maxEvents]unix.EpollEvent

	// park waits for the epoll descriptor in the Go runtime's netpoller
	// (park_linux.go); nil until the first blocking Wait, and for good
	// once that fails (then Wait blocks in epoll_wait).
	park   *parker
	noPark bool
	// idle: the last Wait found nothing at its first look and parked
	// (parkWait's report); the next Wait parks without a look of its own.
	idle  bool
	looks int // Wait's own looks before parking (a test counts them)
	polls int // every look, Wait's, parkWait's and Serve's (tests count them)

	// drained: fn called Drained for the event it is handling;
	// undrained: some event of the last dispatch was not declared so.
	drained, undrained bool

	// Prefetch, if set, sees each batch of two or more events before
	// they are handed to fn one by one (the owner reads ahead for them
	// all in one system call). ready holds the batch.
	Prefetch func([]Ready)
	ready    [maxEvents]Ready
}

// New returns a Poller with its epoll and eventfd descriptors, both
// close-on-exec.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	p := &Poller{epfd: epfd, wakefd: wfd}
	binary.NativeEndian.PutUint64(p.wbuf[:], 1)
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wfd, &ev); err != nil {
		unix.Close(wfd)
		unix.Close(epfd)
		return nil, os.NewSyscallError("epoll_ctl", err)
	}
	return p, nil
}

// epollEvents translates an interest set. EPOLLRDHUP goes with EPOLLIN
// only: level-triggered, a paused descriptor whose peer shut its write side
// would otherwise be reported on every Wait. EPOLLHUP (both directions gone,
// or a reset) and EPOLLERR are reported by the kernel whatever the mask.
func epollEvents(ev Event) uint32 {
	var e uint32
	if ev&Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if ev&Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func (p *Poller) ctl(op, fd int, ev Event) error {
	e := unix.EpollEvent{Events: epollEvents(ev), Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, op, fd, &e); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Add registers fd with level-triggered interest in ev&(Readable|Writable).
// An interest of 0 is allowed: Hangup and Error are still reported.
func (p *Poller) Add(fd int, ev Event) error {
	return p.ctl(unix.EPOLL_CTL_ADD, fd, ev)
}

// Modify replaces the interest set of a registered fd.
func (p *Poller) Modify(fd int, ev Event) error {
	return p.ctl(unix.EPOLL_CTL_MOD, fd, ev)
}

// Delete removes fd from the Poller. Call it before closing fd: epoll
// forgets a descriptor only when its last duplicate is closed.
func (p *Poller) Delete(fd int) error {
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

// Wait blocks for up to timeout (negative: forever, zero: just poll) and
// calls fn once for each ready descriptor. fn may Add, Modify or Delete
// descriptors, but events already collected in this call are still
// delivered, so fn must ignore a descriptor it deleted (or closed) earlier
// in the same call. The wake-up descriptor is consumed here and never
// passed to fn; woke reports whether a Wake happened. An interrupted wait
// (EINTR) returns (false, nil). A timeout is kept to a millisecond, as
// epoll_wait keeps it: a wait may end up to 1 ms from it when the last
// wait's deadline was that close (park_linux.go).
func (p *Poller) Wait(timeout time.Duration, fn func(fd int, ev Event)) (woke bool, err error) {
	if p.closed {
		return false, ErrClosed
	}
	// A busy loop finds events ready: look first without blocking, through
	// RawSyscall, which does not hand the goroutine's P to another thread
	// the way a blocking syscall does. Only an idle loop waits, and it
	// parks its goroutine rather than blocking its thread (park_linux.go).
	// A loop that parked in its last Wait goes straight to parking again:
	// parkWait looks first too (it must), so the look here would be a
	// second epoll_pwait finding nothing on every wake-up of a sparse load.
	var n int
	if timeout == 0 || p.noPark || !p.idle {
		p.looks++
		n, err = p.poll()
	}
	if n == 0 && err == nil && timeout != 0 {
		if p.noPark {
			n, err = unix.EpollWait(p.epfd, p.events[:], waitMillis(timeout))
		} else {
			n, err = p.parkWait(timeout)
		}
	}
	if err != nil {
		if err == unix.EINTR {
			return false, nil
		}
		return false, os.NewSyscallError("epoll_wait", err)
	}
	return p.dispatch(n, fn), nil
}

// dispatch hands the n events collected by a poll to fn and reports
// whether the wake-up descriptor was among them. It notes whether fn
// declared every event drained (Drained), for Serve.
func (p *Poller) dispatch(n int, fn func(fd int, ev Event)) (woke bool) {
	p.undrained = false
	m := 0
	for i := range n {
		e := &p.events[i]
		if int(e.Fd) == p.wakefd {
			// Read before clearing pending: a Wake landing in between is
			// not lost, because the caller drains its queue after Wait.
			sock.Read(p.wakefd, p.rbuf[:])
			p.pending.Store(0)
			woke = true
			continue
		}
		p.ready[m] = Ready{FD: e.Fd, Ev: eventOf(e.Events)}
		m++
	}
	if p.Prefetch != nil && m > 1 {
		p.Prefetch(p.ready[:m])
	}
	for i := range m {
		r := &p.ready[i]
		p.drained = false
		fn(int(r.FD), r.Ev)
		if !p.drained {
			p.undrained = true
		}
	}
	return woke
}

// eventOf translates epoll's event bits.
func eventOf(events uint32) Event {
	var ev Event
	if events&unix.EPOLLIN != 0 {
		ev |= Readable
	}
	if events&unix.EPOLLOUT != 0 {
		ev |= Writable
	}
	if events&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		ev |= Hangup
	}
	if events&unix.EPOLLERR != 0 {
		ev |= Error
	}
	return ev
}

// Drained tells the poller, from inside Wait's or Serve's fn, that the
// event being handled left its descriptor with nothing the kernel would
// report again without a new edge: a read that came back short or with
// EAGAIN, no interest left in a condition that still holds. Serve then
// need not look again before it parks (park_linux.go). A handler that
// does not call it costs that one look, nothing else.
func (p *Poller) Drained() { p.drained = true }

// Wake makes a blocked or the next Wait return with woke=true. It is safe
// from any goroutine, and Wakes are coalesced: while one is pending, further
// calls are a single atomic load and cost no system call.
func (p *Poller) Wake() error {
	if p.pending.Load() != 0 || !p.pending.CompareAndSwap(0, 1) {
		return nil
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.closed {
		return ErrClosed
	}
	for {
		// sock.Write is a RawSyscall: through Syscall, entersyscall would wake
		// the runtime's sysmon from its deep sleep (BENCHMARKS.md, "TLS bulk:
		// a loop that woke itself").
		_, err := sock.Write(p.wakefd, p.wbuf[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: the counter is already non-zero.
			return nil
		case unix.EINTR:
			continue
		}
		p.pending.Store(0)
		return os.NewSyscallError("write", err)
	}
}

// Close releases the epoll and eventfd descriptors. Registered descriptors
// are not closed. Later calls to Wait return ErrClosed; a later Wake does
// nothing and returns ErrClosed or nil.
func (p *Poller) Close() error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.closed = true
	if p.park != nil {
		p.park.f.Close()
	}
	err1 := unix.Close(p.wakefd)
	err2 := unix.Close(p.epfd)
	if err1 != nil {
		return os.NewSyscallError("close", err1)
	}
	if err2 != nil {
		return os.NewSyscallError("close", err2)
	}
	return nil
}

// waitMillis converts a Wait timeout to epoll/kevent milliseconds: negative
// means forever, and a positive sub-millisecond timeout rounds up so that a
// short timer does not turn into a busy poll.
func waitMillis(timeout time.Duration) int {
	switch {
	case timeout < 0:
		return -1
	case timeout == 0:
		return 0
	}
	ms := (timeout + time.Millisecond - 1) / time.Millisecond
	if ms > math.MaxInt32 {
		ms = math.MaxInt32
	}
	return int(ms)
}

// poll is epoll_wait with a zero timeout, without the scheduler's syscall
// bookkeeping: it never blocks, so there is nothing to hand off.
func (p *Poller) poll() (int, error) {
	p.polls++
	r, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(p.epfd),
		uintptr(unsafe.Pointer(&p.events[0])), uintptr(len(p.events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

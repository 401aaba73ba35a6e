package poller

import (
	"errors"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// An idle loop waits for its epoll descriptor in the Go runtime's own
// netpoller (an epoll descriptor is itself pollable: it is readable while
// it has events ready) instead of blocking its thread in epoll_wait. The
// goroutine parks as one blocked on a net.Conn does, and its P goes back
// to the scheduler.
//
// Why: a loop is one goroutine that lives as long as the process. Blocked
// in a system call, it leaves its P in _Psyscall; the runtime's sysmon
// thread then, every 10 ms of the goroutine's time slice, either takes
// the P away (a hand-off: futex wake-ups, another thread) or signals the
// thread to preempt it, and each time it does, sysmon itself goes back to
// waking every 20 µs; and each return from the system call after all Ps
// were idle wakes sysmon from its deep sleep into the same 20 µs cadence.
// Measured on the echo load of BENCHMARKS.md ("An idle loop parks"): with
// the blocking wait sysmon's usleep alone was 13 % of the proxy's CPU and
// half its context switches; parked, sysmon sleeps, and the proxy's CPU
// per relayed message fell by 10-16 %.
type parker struct {
	f  *os.File // a duplicate of the epoll descriptor, in the netpoller
	rc syscall.RawConn

	// look is the function rc.Read calls: it polls p into n and err. It is
	// made once, so that a park allocates nothing.
	look  func(uintptr) bool
	n     int
	err   error
	calls int // calls of look in this wait: 1 when events were ready at once

	// deadline is the read deadline last set on f (zero: none). A loop's
	// timeout ends at a tick of its timer wheel, the same instant park
	// after park until that tick passes, so the deadline is set again
	// only when it moves (each time costs the runtime a timer change).
	deadline time.Time
	expired  bool // the deadline passed: f refuses reads until it is set again
}

// deadlineSlack is how far from the asked end a deadline left in place
// may end a wait: epoll_wait's own precision (a millisecond), well inside a
// timer wheel's tick. A loop's waits are asked to end at the same tick,
// but each from a slightly different now: the difference is noise.
const deadlineSlack = time.Millisecond

// parkWait waits up to timeout (negative: forever) for events and collects
// them into p.events as poll does. It is called after a poll found none.
func (p *Poller) parkWait(timeout time.Duration) (int, error) {
	if p.park == nil {
		pk, err := newParker(p.epfd)
		if err != nil {
			// Not expected on Linux; the blocking wait still works.
			p.noPark = true
			return unix.EpollWait(p.epfd, p.events[:], waitMillis(timeout))
		}
		pk.look = func(uintptr) bool {
			pk.calls++
			pk.n, pk.err = p.poll()
			return pk.n != 0 || pk.err != nil
		}
		p.park = pk
	}
	pk := p.park
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if pk.expired || !keepDeadline(pk.deadline, deadline) {
		if err := pk.f.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		pk.deadline, pk.expired = deadline, false
	}
	// RawConn.Read clears the descriptor's readiness mark before it
	// calls the function first, so that first call must poll again: an
	// event that came after Wait's poll may have set the mark just
	// before it was cleared.
	pk.n, pk.err, pk.calls = 0, nil, 0
	err := pk.rc.Read(pk.look)
	// More than one look: the first found nothing and the goroutine
	// parked. Wait then skips its own look next time (poller_linux.go).
	p.idle = pk.calls > 1
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		pk.expired, p.idle = true, true
		return 0, nil
	case err != nil:
		return 0, err
	}
	return pk.n, pk.err
}

// keepDeadline reports whether the deadline set, already on the
// descriptor, will do for a wait that should end at want: both none, or
// less than deadlineSlack apart.
func keepDeadline(set, want time.Time) bool {
	if set.IsZero() || want.IsZero() {
		return set.IsZero() && want.IsZero()
	}
	d := want.Sub(set)
	return d > -deadlineSlack && d < deadlineSlack
}

// newParker registers a non-blocking, close-on-exec duplicate of epfd with
// the runtime's netpoller. The duplicate shares the epoll instance; only
// its readiness is watched.
func newParker(epfd int) (*parker, error) {
	fd, err := unix.FcntlInt(uintptr(epfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("fcntl", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(fd), "epoll")
	rc, err := f.SyscallConn()
	if err == nil {
		// A file the netpoller did not take refuses deadlines: then
		// parking is not possible.
		err = f.SetReadDeadline(time.Time{})
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &parker{f: f, rc: rc}, nil
}

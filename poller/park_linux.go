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

	// serve is the function rc.Read calls in Serve: the loop itself,
	// made once; between, fn and the results are Serve's.
	serve   func(uintptr) bool
	between func() (time.Duration, bool)
	fn      func(fd int, ev Event)
	timeout time.Duration
	stop    bool
	serr    error
}

// deadlineSlack is how far from the asked end a deadline left in place
// may end a wait: epoll_wait's own precision (a millisecond), well inside a
// timer wheel's tick. A loop's waits are asked to end at the same tick,
// but each from a slightly different now: the difference is noise.
const deadlineSlack = time.Millisecond

// parkWait waits up to timeout (negative: forever) for events and collects
// them into p.events as poll does. It is called after a poll found none.
func (p *Poller) parkWait(timeout time.Duration) (int, error) {
	if p.parker() == nil {
		// Not expected on Linux; the blocking wait still works.
		return unix.EpollWait(p.epfd, p.events[:], waitMillis(timeout))
	}
	pk := p.park
	if err := pk.setDeadline(timeout); err != nil {
		return 0, err
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

// parker returns p's parker, made on first use; nil when the runtime's
// netpoller would not take the descriptor (then p.noPark is set and waits
// block in epoll_wait).
func (p *Poller) parker() *parker {
	if p.park != nil || p.noPark {
		return p.park
	}
	pk, err := newParker(p.epfd)
	if err != nil {
		p.noPark = true
		return nil
	}
	pk.look = func(uintptr) bool {
		pk.calls++
		pk.n, pk.err = p.poll()
		return pk.n != 0 || pk.err != nil
	}
	pk.serve = func(uintptr) bool { return p.serveCycle(pk) }
	p.park = pk
	return pk
}

// setDeadline makes the descriptor's read deadline timeout from now
// (negative: none), unless the one set will do.
func (pk *parker) setDeadline(timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	if pk.expired || !keepDeadline(pk.deadline, deadline) {
		if err := pk.f.SetReadDeadline(deadline); err != nil {
			return err
		}
		pk.deadline, pk.expired = deadline, false
	}
	return nil
}

// Serve runs an event loop on p until between reports stop, or p fails.
// between runs first and after each batch of events (the caller's timers
// and queued work) and returns how long the next wait may last (negative:
// forever; zero: look without waiting). fn gets each event as Wait's fn
// does. between must not Close p: Close after Serve returns.
//
// It is Wait in a loop, with one look less per wake-up. Wait parks through
// RawConn.Read, which clears the descriptor's readiness mark and so must
// look again (an event may have set the mark just before) even when the
// last batch left nothing ready: two looks per wake-up, one that collects
// the events and one that finds nothing. Serve runs the loop inside
// RawConn.Read's function instead, so that once a batch is handled it
// waits again without that clearing: an edge that came while it was
// handling the batch is still marked, and the wait returns at once. It
// looks before waiting only when some handler did not call Drained: a
// level-triggered descriptor left ready is not a new edge, and only a look
// finds it.
func (p *Poller) Serve(between func() (time.Duration, bool), fn func(fd int, ev Event)) error {
	timeout, stop := between()
	for !stop {
		if p.closed {
			return ErrClosed
		}
		if timeout != 0 && p.parker() != nil {
			var err error
			if timeout, stop, err = p.serveParked(timeout, between, fn); err != nil {
				return err
			}
			continue
		}
		if _, err := p.Wait(timeout, fn); err != nil {
			return err
		}
		timeout, stop = between()
	}
	return nil
}

// serveParked runs Serve's loop inside RawConn.Read until between asks
// for a wait of zero or stop, the deadline passes, or p fails.
func (p *Poller) serveParked(timeout time.Duration, between func() (time.Duration, bool), fn func(int, Event)) (time.Duration, bool, error) {
	pk := p.park
	if err := pk.setDeadline(timeout); err != nil {
		return 0, false, err
	}
	pk.between, pk.fn = between, fn
	pk.timeout, pk.stop, pk.serr = timeout, false, nil
	err := pk.rc.Read(pk.serve)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		pk.expired = true
		timeout, stop := between()
		return timeout, stop, nil
	case err != nil:
		return 0, false, err
	}
	return pk.timeout, pk.stop, pk.serr
}

// serveCycle is RawConn.Read's function in Serve: false waits for the
// descriptor (the runtime parks the goroutine unless an edge came since
// the last wait), true returns from RawConn.Read.
func (p *Poller) serveCycle(pk *parker) bool {
	for {
		n, err := p.poll()
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			pk.serr = os.NewSyscallError("epoll_wait", err)
			return true
		case n == 0:
			return false
		}
		p.dispatch(n, pk.fn)
		pk.timeout, pk.stop = pk.between()
		if pk.stop || pk.timeout == 0 {
			return true
		}
		if err := pk.setDeadline(pk.timeout); err != nil {
			pk.serr = err
			return true
		}
		if !p.undrained {
			return false
		}
	}
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

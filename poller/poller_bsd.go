//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package poller

import (
	"math"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Poller is a kqueue plus a non-blocking pipe used by Wake (a pipe rather
// than EVFILT_USER because OpenBSD lacks the latter).
//
// Each descriptor has two filters. EVFILT_WRITE is registered disabled and
// toggled with EV_ENABLE/EV_DISABLE. EVFILT_READ is always registered so
// that EV_EOF (Hangup) is seen even without Readable interest: without it,
// the filter is edge-triggered (EV_CLEAR) with an unreachable NOTE_LOWAT, so
// it fires on EOF but not on data. As a consequence, Hangup without
// Readable interest is reported once rather than on every Wait.
type Poller struct {
	kq        int
	wakeRead  int
	wakeWrite int

	// interest is the current interest set of each registered fd, needed to
	// know which flavour of EVFILT_READ is registered.
	interest map[int]Event

	pending atomic.Uint32 // see Wake

	// Prefetch is Linux's read-ahead hook (poller_linux.go); kqueue's
	// dispatch never calls it.
	Prefetch func([]Ready)

	wmu    sync.Mutex // orders Wake's write against Close of the pipe
	closed bool       // guarded by wmu; read without it by the owner

	changes [4]unix.Kevent_t
	events  [maxEvents]unix.Kevent_t
	rbuf    [64]byte
	ts      unix.Timespec
}

// New returns a Poller with its kqueue and wake-up pipe, all close-on-exec.
func New() (*Poller, error) {
	kq, err := unix.Kqueue()
	if err != nil {
		return nil, os.NewSyscallError("kqueue", err)
	}
	unix.CloseOnExec(kq)
	var fds [2]int
	syscall.ForkLock.RLock()
	err = unix.Pipe(fds[:])
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		unix.Close(kq)
		return nil, os.NewSyscallError("pipe", err)
	}
	p := &Poller{kq: kq, wakeRead: fds[0], wakeWrite: fds[1], interest: make(map[int]Event)}
	if err = unix.SetNonblock(fds[0], true); err == nil {
		err = unix.SetNonblock(fds[1], true)
	}
	if err != nil {
		p.closeAll()
		return nil, os.NewSyscallError("fcntl", err)
	}
	unix.SetKevent(&p.changes[0], fds[0], unix.EVFILT_READ, unix.EV_ADD)
	if _, err := unix.Kevent(kq, p.changes[:1], nil, nil); err != nil {
		p.closeAll()
		return nil, os.NewSyscallError("kevent", err)
	}
	return p, nil
}

// readChange fills k with the EVFILT_READ registration for ev.
func readChange(k *unix.Kevent_t, fd int, ev Event) {
	if ev&Readable != 0 {
		unix.SetKevent(k, fd, unix.EVFILT_READ, unix.EV_ADD)
		return
	}
	unix.SetKevent(k, fd, unix.EVFILT_READ, unix.EV_ADD|unix.EV_CLEAR)
	k.Fflags = unix.NOTE_LOWAT
	k.Data = math.MaxInt32
}

func writeChange(k *unix.Kevent_t, fd int, ev Event, add bool) {
	flags := unix.EV_DISABLE
	if ev&Writable != 0 {
		flags = unix.EV_ENABLE
	}
	if add {
		flags |= unix.EV_ADD
	}
	unix.SetKevent(k, fd, unix.EVFILT_WRITE, flags)
}

func (p *Poller) apply(n int) error {
	if _, err := unix.Kevent(p.kq, p.changes[:n], nil, nil); err != nil {
		return os.NewSyscallError("kevent", err)
	}
	return nil
}

// Add registers fd with level-triggered interest in ev&(Readable|Writable).
// An interest of 0 is allowed: Hangup and Error are still reported.
func (p *Poller) Add(fd int, ev Event) error {
	ev &= Readable | Writable
	readChange(&p.changes[0], fd, ev)
	writeChange(&p.changes[1], fd, ev, true)
	if err := p.apply(2); err != nil {
		return err
	}
	p.interest[fd] = ev
	return nil
}

// Modify replaces the interest set of a registered fd.
func (p *Poller) Modify(fd int, ev Event) error {
	ev &= Readable | Writable
	old, ok := p.interest[fd]
	if !ok {
		return os.NewSyscallError("kevent", unix.ENOENT)
	}
	n := 0
	if (old^ev)&Readable != 0 {
		// EV_CLEAR cannot be changed on an existing knote: replace it.
		unix.SetKevent(&p.changes[n], fd, unix.EVFILT_READ, unix.EV_DELETE)
		readChange(&p.changes[n+1], fd, ev)
		n += 2
	}
	if (old^ev)&Writable != 0 {
		writeChange(&p.changes[n], fd, ev, false)
		n++
	}
	if n > 0 {
		if err := p.apply(n); err != nil {
			return err
		}
	}
	p.interest[fd] = ev
	return nil
}

// Delete removes fd from the Poller. kqueue also forgets a descriptor when
// it is closed, but Delete before close keeps the bookkeeping exact.
func (p *Poller) Delete(fd int) error {
	delete(p.interest, fd)
	unix.SetKevent(&p.changes[0], fd, unix.EVFILT_READ, unix.EV_DELETE)
	unix.SetKevent(&p.changes[1], fd, unix.EVFILT_WRITE, unix.EV_DELETE)
	return p.apply(2)
}

// Wait blocks for up to timeout (negative: forever, zero: just poll) and
// calls fn for each ready descriptor. fn may Add, Modify or Delete
// descriptors, but events already collected in this call are still
// delivered, so fn must ignore a descriptor it deleted (or closed) earlier
// in the same call. With kqueue a descriptor can be reported twice in one
// Wait, once per filter. The wake-up pipe is drained here and never passed
// to fn; woke reports whether a Wake happened. EINTR returns (false, nil).
func (p *Poller) Wait(timeout time.Duration, fn func(fd int, ev Event)) (woke bool, err error) {
	if p.closed {
		return false, ErrClosed
	}
	var ts *unix.Timespec
	if timeout >= 0 {
		p.ts = unix.NsecToTimespec(int64(timeout))
		ts = &p.ts
	}
	n, err := unix.Kevent(p.kq, nil, p.events[:], ts)
	if err != nil {
		if err == unix.EINTR {
			return false, nil
		}
		return false, os.NewSyscallError("kevent", err)
	}
	for i := range n {
		k := &p.events[i]
		fd := int(k.Ident)
		if fd == p.wakeRead {
			for {
				if m, _ := unix.Read(p.wakeRead, p.rbuf[:]); m < len(p.rbuf) {
					break
				}
			}
			p.pending.Store(0)
			woke = true
			continue
		}
		var ev Event
		switch k.Filter {
		case unix.EVFILT_READ:
			if p.interest[fd]&Readable != 0 {
				ev |= Readable
			}
		case unix.EVFILT_WRITE:
			ev |= Writable
		}
		if k.Flags&unix.EV_EOF != 0 {
			ev |= Hangup
			if k.Fflags != 0 { // socket error code
				ev |= Error
			}
		}
		if k.Flags&unix.EV_ERROR != 0 {
			ev |= Error
		}
		if ev != 0 {
			fn(fd, ev)
		}
	}
	return woke, nil
}

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
	var b [1]byte
	for {
		_, err := unix.Write(p.wakeWrite, b[:])
		switch err {
		case nil, unix.EAGAIN: // EAGAIN: the pipe is full, so already readable.
			return nil
		case unix.EINTR:
			continue
		}
		p.pending.Store(0)
		return os.NewSyscallError("write", err)
	}
}

// Close releases the kqueue and the wake-up pipe. Registered descriptors
// are not closed. Later calls to Wait return ErrClosed; a later Wake does
// nothing and returns ErrClosed or nil.
func (p *Poller) Close() error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.closed {
		return ErrClosed
	}
	p.closed = true
	return p.closeAll()
}

func (p *Poller) closeAll() error {
	var first error
	for _, fd := range [...]int{p.wakeWrite, p.wakeRead, p.kq} {
		if err := unix.Close(fd); err != nil && first == nil {
			first = os.NewSyscallError("close", err)
		}
	}
	return first
}

// Serve runs an event loop on p until between reports stop, or p fails:
// between runs first and after each batch of events and returns how long
// the next wait may last (negative: forever; zero: look without waiting).
// Here it is Wait in a loop; on Linux it also saves a look per wake-up
// (park_linux.go). between must not Close p.
func (p *Poller) Serve(between func() (time.Duration, bool), fn func(fd int, ev Event)) error {
	timeout, stop := between()
	for !stop {
		if _, err := p.Wait(timeout, fn); err != nil {
			return err
		}
		timeout, stop = between()
	}
	return nil
}

// Drained is what a handler calls when its event left nothing ready (see
// the Linux version); kqueue's waits need no such hint.
func (p *Poller) Drained() {}

package reactor

import (
	"errors"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
	"wsproxy/internal/timer"
	"wsproxy/poller"
)

// Listener accepts connections on one loop: an SO_REUSEPORT socket of its
// own, so that the kernel spreads new connections over the loops sharing a
// port.
type Listener struct {
	L      *Loop
	FD     int
	Addr   netip.AddrPort
	accept func(fd int, peer netip.AddrPort) // starts a connection on an accepted descriptor
	paused timer.Entry                       // re-arms accepting after running out of descriptors
	// noDelay: accepted connections inherit TCP_NODELAY from the listener.
	noDelay bool
	// Deferred: the kernel hands over a connection once its first bytes
	// are there (sock.SetDeferAccept), so accept can read at once.
	Deferred bool
	// Shared: the socket came from ListenFD; another process (a master)
	// holds it too, and it outlives this Listener.
	Shared bool
}

// Listen binds addr with SO_REUSEPORT on l and calls accept, on the loop,
// for every connection accepted. Accepted descriptors are non-blocking,
// close-on-exec and have TCP_NODELAY set.
func Listen(l *Loop, addr string, accept func(fd int, peer netip.AddrPort)) (*Listener, error) {
	fd, bound, err := sock.Listen(addr, true)
	if err != nil {
		return nil, err
	}
	return listenOn(l, fd, bound, accept)
}

// ListenFD is Listen on a socket that already listens: one a master
// process opened and handed down (internal/master), which outlives the
// worker. The Listener owns this process's copy of fd, on error too.
func ListenFD(l *Loop, fd int, accept func(fd int, peer netip.AddrPort)) (*Listener, error) {
	bound, err := sock.LocalAddr(fd)
	if err == nil {
		err = unix.SetNonblock(fd, true)
	}
	if err != nil {
		CloseFD(fd)
		return nil, err
	}
	ln, err := listenOn(l, fd, bound, accept)
	if ln != nil {
		ln.Shared = true
	}
	return ln, err
}

func listenOn(l *Loop, fd int, bound netip.AddrPort, accept func(fd int, peer netip.AddrPort)) (*Listener, error) {
	ln := &Listener{L: l, FD: fd, Addr: bound, accept: accept}
	// Relayed bytes go out as they arrive: with Nagle, a second small write
	// waits for the peer's delayed ACK (40ms on Linux). Set on the listener,
	// TCP_NODELAY is inherited by every accepted connection where the
	// kernel does so, and set on each one otherwise.
	ln.noDelay = sock.SetNoDelay(fd) == nil && sock.AcceptInheritsNoDelay
	ln.Deferred = sock.SetDeferAccept(fd, 1)
	ln.paused.Owner = ln
	if err := l.Register(fd, ln, poller.Readable); err != nil {
		CloseFD(fd)
		return nil, err
	}
	return ln, nil
}

// acceptBatch bounds how many clients one readiness event accepts, so a
// flood of connects cannot starve established connections.
const acceptBatch = 64

// OnEvent accepts up to acceptBatch connections.
func (ln *Listener) OnEvent(ev poller.Event) {
	l := ln.L
	for i := 0; i < acceptBatch; i++ {
		fd, peer, err := sock.Accept(ln.FD)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				l.Drained() // the queue is empty: the next connection is a new edge
				return
			}
			if errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.EINTR) {
				return
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				// Out of descriptors: stop accepting for a moment rather
				// than spin on a listener that stays readable.
				l.Log.Warn("accept: out of file descriptors; pausing accepts for 100ms", "err", err)
				if err := l.Modify(ln.FD, 0); err != nil {
					l.Log.Error("accept: pausing the listener", "err", err)
				}
				l.Schedule(&ln.paused, 100*time.Millisecond)
				return
			}
			l.Log.Error("accept", "err", err)
			return
		}
		if !ln.noDelay {
			_ = sock.SetNoDelay(fd) // best effort: the connection works without
		}
		ln.accept(fd, peer)
	}
}

// OnTimer accepts again after a pause.
func (ln *Listener) OnTimer() {
	if err := ln.L.Modify(ln.FD, poller.Readable); err != nil {
		ln.L.Log.Error("accept: resuming the listener", "err", err)
	}
}

// StopAccepting accepts what is already queued on the listener, at most
// sweep connections, and closes it. It runs on the listener's loop.
//
// With SO_REUSEPORT every listener has its own accept queue: a connection
// the kernel put in this queue after the sweep is reset when the socket
// closes, unless another process still holds it (a master's socket,
// ListenFD: the next generation accepts it) or net.ipv4.tcp_migrate_req=1
// lets the kernel move it to another listener of the port.
func (ln *Listener) StopAccepting(sweep int) {
	if ln.FD < 0 {
		return
	}
	l := ln.L
	l.Wheel.Cancel(&ln.paused)
	for i := 0; i < sweep; i++ {
		fd, peer, err := sock.Accept(ln.FD)
		if errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			break // EAGAIN: the queue is empty; EMFILE: nothing to do about it now
		}
		ln.accept(fd, peer)
	}
	l.Unregister(ln.FD)
	CloseFD(ln.FD)
	ln.FD = -1
}

package tlsloop

import (
	"crypto/tls"
	"sync/atomic"

	"wsproxy/internal/reactor"
	"wsproxy/internal/tlstrim"
)

// Loop is the TLS side of one reactor loop: its handshake slots, which
// bound how many handshakes work at once. A slot is held from the start of
// a handshake's goroutine while it has input, and again each time input
// comes after it parked. Loop is owned by the reactor loop's goroutine.
type Loop struct {
	R *reactor.Loop

	running, limit int
	// FIFO of connections waiting for a slot: to start (Waiting), or to
	// go on with input (hs.queued). Entries that no longer wait (closed,
	// done) are skipped.
	wait []*Conn

	trimOn     bool          // drop crypto/tls's empty input buffers (internal/tlstrim)
	goroutines *atomic.Int64 // handshake goroutines alive, shared by the loops of a server
}

// Init makes l the TLS side of r, with limit handshake slots; trim turns
// the dropping of empty input buffers on; goroutines counts the handshake
// goroutines alive (it may be shared by several loops).
func (l *Loop) Init(r *reactor.Loop, limit int, trim bool, goroutines *atomic.Int64) {
	l.R, l.limit, l.trimOn, l.goroutines = r, limit, trim, goroutines
}

// Slots reports the slots in use, the connections waiting for one and the
// number of slots.
func (l *Loop) Slots() (running, waiting, limit int) {
	for _, c := range l.wait {
		if c.phase == Waiting || (c.phase == Handshaking && c.hs.queued) {
			waiting++
		}
	}
	return l.running, waiting, l.limit
}

// trim drops c's empty input buffers unless trimming is off.
func (l *Loop) trim(c *tls.Conn) {
	if l.trimOn {
		tlstrim.Input(c)
	}
}

// enter starts c's handshake, or queues it until a slot frees.
func (l *Loop) enter(c *Conn) {
	if l.running < l.limit {
		l.running++
		c.start()
		return
	}
	c.phase = Waiting
	l.wait = append(l.wait, c)
}

// resume gives c's parked goroutine a slot for the input it has, or queues
// it until one frees.
func (l *Loop) resume(c *Conn) {
	if l.running < l.limit {
		l.running++
		c.hs.grant()
		return
	}
	c.hs.queued = true
	l.wait = append(l.wait, c)
}

// release frees hs's slot, if it holds one, and gives it to the first
// connection waiting.
func (l *Loop) release(hs *handshake) {
	if !hs.slot {
		return
	}
	hs.slot = false
	l.running--
	for len(l.wait) > 0 && l.running < l.limit {
		c := l.wait[0]
		l.wait[0] = nil
		l.wait = l.wait[1:]
		switch {
		case c.phase == Waiting:
			l.running++
			c.start()
			c.host.Resumed() // it may read again
		case c.phase == Handshaking && c.hs.queued:
			c.hs.queued = false
			l.running++
			c.hs.grant()
		}
	}
	if len(l.wait) == 0 {
		l.wait = l.wait[:0:0]
	}
}

// parked runs on the loop once the goroutine of hs has given its slot back
// to wait for input. Input the loop read meanwhile wants a slot again.
func (c *Conn) parked(hs *handshake) {
	l := c.loop
	l.release(hs)
	if c.hs == hs && c.phase == Handshaking && !hs.queued && hs.buffered() > 0 {
		l.resume(c)
	}
}

// grant lets the goroutine go on with a slot its loop has counted for it.
func (hs *handshake) grant() {
	hs.slot = true
	hs.mu.Lock()
	hs.run = true
	hs.cond.Signal()
	hs.mu.Unlock()
}

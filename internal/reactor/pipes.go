package reactor

import (
	"sync/atomic"

	"wsproxy/internal/sock"
)

// Pipe is a kernel pipe that spliced bytes pass through (sock.Splice).
type Pipe struct {
	R, W int   // read and write ends, non-blocking
	N    int   // bytes spliced in and not yet out
	next *Pipe // free list
}

// Pipes is a loop's pool of pipes for splice(2). Only the loop touches the
// free list; the counters are atomic so that tests and metrics may read
// them. A pipe is held only while it holds bytes. The zero value holds no
// pipe and makes none (splice off); Init sets how many it may make.
type Pipes struct {
	free *Pipe
	max  int32 // pipes that may be open; 0: splice is off
	Made atomic.Int32
	Held atomic.Int32 // pipes held by their users (Made - free)
}

// Init lets p make up to max pipes where the system has splice(2).
func (p *Pipes) Init(max int) {
	if sock.SpliceSupported {
		p.max = int32(max)
	}
}

// Available reports whether Get would return a pipe.
func (p *Pipes) Available() bool { return p.free != nil || p.Made.Load() < p.max }

// Get takes an empty pipe, making one if fewer than max are open; nil when
// none is free or the system refuses a new one (out of descriptors or
// pipe memory: the caller reads and writes instead).
func (p *Pipes) Get() *Pipe {
	q := p.free
	if q != nil {
		p.free, q.next = q.next, nil
	} else {
		if p.Made.Load() >= p.max {
			return nil
		}
		r, w, err := sock.Pipe()
		if err != nil {
			return nil
		}
		q = &Pipe{R: r, W: w}
		p.Made.Add(1)
	}
	p.Held.Add(1)
	return q
}

// Put gives q back: an empty pipe to the free list; one that still holds
// bytes (its connection closed) is closed, as the bytes cannot be taken out.
//
// Held drops last, so that a reader who sees it drop (a test, from another
// goroutine) sees Made and the descriptors already agree.
func (p *Pipes) Put(q *Pipe) {
	defer p.Held.Add(-1)
	if q.N > 0 {
		q.close()
		p.Made.Add(-1)
		return
	}
	q.next, p.free = p.free, q
}

// CloseAll closes the free pipes (loop shutdown, after every user).
func (p *Pipes) CloseAll() {
	for q := p.free; q != nil; q = q.next {
		q.close()
		p.Made.Add(-1)
	}
	p.free = nil
}

func (q *Pipe) close() {
	CloseFD(q.R)
	CloseFD(q.W)
}

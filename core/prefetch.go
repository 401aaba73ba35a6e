package core

import (
	"golang.org/x/sys/unix"

	"wsproxy/poller"
)

// Read-ahead: when a loop's poll returns several readable tunnel sockets,
// the loop reads them all in one system call (reactor.Sends.Recv, an
// io_uring of the loop) before it handles the events one by one; each
// tunnel's pump then takes its bytes from there instead of calling
// recv(2). With the send batch (endpoint.batch) a cycle that relays k
// small messages makes two system calls for them instead of 2k.
//
// The bytes read ahead belong to their endpoint from then on: the pump of
// that direction takes them (prefetched), and what no pump took by the end
// of the batch (its event found the destination full, or the connection
// changed) is relayed then (flushPrefetched), so that nothing read is
// lost or overtaken. Only a tunnel's plain sockets whose direction may
// pump and carries small frames read ahead: a direction whose last data
// frame was long enough to splice (dsBulk), or that is inside a frame
// with more than a slot to come, reads the ordinary way, up to the loop's
// whole buffer or through a pipe.

const (
	prefetchSlot  = 8 << 10 // bytes read ahead per socket
	prefetchSlots = 16      // sockets read ahead per batch
)

// aheadRead is one socket's read ahead.
type aheadRead struct {
	e     *endpoint
	c     *conn // e's connection when it was read: a check that it is still the same
	d     direction
	fd    int32
	taken bool // by a pump, or by flushPrefetched
}

// readAhead holds a loop's reads ahead of the current batch: ents[i] read
// into ps[i] what res[i] says (bytes read, 0 at end of stream, or a
// negated errno).
type readAhead struct {
	buf  []byte // prefetchSlots slots of prefetchSlot bytes, made on first use
	ents []aheadRead
	fds  []int32
	ps   [][]byte
	res  []int32
}

// read returns ents[i]'s read as a read call would: n bytes of p, or err.
func (ra *readAhead) read(i int) (p []byte, n int, err error) {
	if r := ra.res[i]; r < 0 {
		return ra.ps[i], -1, unix.Errno(-r)
	}
	return ra.ps[i], int(ra.res[i]), nil
}

// prefetch is the loop's poller.Poller.Prefetch: it reads ahead for the
// readable tunnel sockets of the batch rs.
func (l *Loop) prefetch(rs []poller.Ready) {
	ra := &l.ahead
	if len(ra.ents) > 0 {
		l.flushPrefetched() // (a batch is always finished first; this is a safety net)
	}
	for _, r := range rs {
		if r.Ev&poller.Readable == 0 || len(ra.ents) == prefetchSlots {
			continue
		}
		e, ok := l.Handler(int(r.FD)).(*endpoint)
		if !ok || e.c == nil || e.tls != nil || e.c.st != stTunnel {
			continue
		}
		c := e.c
		d := toUpstream
		if e != &c.cl {
			d = toClient
		}
		if c.dir[d].flags&dsBulk != 0 || c.scan[d].Remaining() > prefetchSlot || !c.canPump(d) {
			continue // large frames are read (or spliced) whole, not a slot at a time
		}
		ra.ents = append(ra.ents, aheadRead{e: e, c: c, d: d, fd: r.FD})
	}
	if len(ra.ents) < 2 {
		ra.ents = ra.ents[:0] // one read gains nothing: the pump makes it
		return
	}
	if ra.buf == nil {
		ra.buf = make([]byte, prefetchSlots*prefetchSlot)
		ra.ps = make([][]byte, prefetchSlots)
		ra.fds = make([]int32, 0, prefetchSlots)
		ra.res = make([]int32, prefetchSlots)
	}
	ra.fds = ra.fds[:0]
	for i := range ra.ents {
		ra.fds = append(ra.fds, ra.ents[i].fd)
		ra.ps[i] = ra.buf[i*prefetchSlot : (i+1)*prefetchSlot]
	}
	if !l.Sends.Recv(ra.fds, ra.ps[:len(ra.ents)], ra.res) {
		ra.ents = ra.ents[:0]
	}
}

// prefetched returns the index of what was read ahead for e (a read of
// at most prefetchSlot bytes: readAhead.read), or -1 when nothing was.
func (l *Loop) prefetched(e *endpoint) int {
	ra := &l.ahead
	for i := range ra.ents {
		a := &ra.ents[i]
		if a.e != e || a.taken {
			continue
		}
		a.taken = true
		if a.c != e.c || e.FD() != int(a.fd) {
			return -1 // not this connection's any more
		}
		return i
	}
	return -1
}

// flushPrefetched relays what was read ahead and not taken by a pump in
// the batch, then forgets the batch's reads. The loop calls it when a
// batch of events is done.
func (l *Loop) flushPrefetched() {
	ra := &l.ahead
	for i := range ra.ents {
		a := &ra.ents[i]
		if a.taken {
			continue
		}
		a.taken = true
		c := a.c
		if a.e.c != c || c.st != stTunnel || a.e.FD() != int(a.fd) {
			continue // closed meanwhile: its bytes go with it
		}
		p, n, err := ra.read(i)
		c.relayRead(a.d, p, n, err)
		if c.st != stClosed {
			c.updateInterest()
		}
	}
	ra.ents = ra.ents[:0]
}

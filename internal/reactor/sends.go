package reactor

import (
	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// Sends gathers the small writes a loop makes in one cycle and makes them
// in one system call (sock.Ring) when the cycle ends, instead of one
// send(2) each: on BENCHMARKS.md's machine a system call's crossing costs
// more than the loopback TCP work of a small message.
//
// The bytes are copied into one buffer of the loop (so the read buffer
// they come from may be reused at once). A socket has at most one entry:
// what it is given while it is the last one extends it; a socket whose
// entry is not the last must be flushed (Flush) before it gets more, which
// the owner sees by its own mark. So bytes reach each socket in the order
// they were given, and after everything flushed before.
//
// Owners keep the rule that a socket with an entry is written by nothing
// else: before a direct write, a splice, a shutdown or a close of such a
// socket, they Flush.
type Sends struct {
	ring  *sock.Ring
	buf   []byte
	ents  []sendEntry
	spare []sendEntry
	busy  bool // Flush is calling owners back: Add declines
}

// SendOwner is told how a socket's entry went once the batch is flushed:
// rest is what the socket did not take (the owner queues it, or drops it
// if it closed the socket meanwhile), valid during the call only; err is
// a failed send.
type SendOwner interface {
	Sent(s *Socket, rest []byte, err error)
}

type sendEntry struct {
	s    *Socket
	o    SendOwner
	from int32 // the entry's bytes are buf[from:to]
	to   int32
}

const (
	sendsRing  = 64       // entries per ring, and per batch
	sendsBytes = 32 << 10 // bytes per batch
	sendMax    = 4 << 10  // a larger write goes straight to its socket
)

// InitSends gives l a send batch if this kernel allows io_uring; without
// one, Add declines and every write goes straight to its socket.
func (l *Loop) InitSends() {
	if r, err := sock.NewRing(sendsRing); err == nil {
		l.Sends.ring = r
	}
}

// Batching reports whether l batches sends.
func (b *Sends) Batching() bool { return b.ring != nil }

// Last is the socket of the newest entry (nil when none).
func (b *Sends) Last() *Socket {
	if len(b.ents) == 0 {
		return nil
	}
	return b.ents[len(b.ents)-1].s
}

// Add takes p for s, whose owner o is told in Flush how it went. It
// declines (false: the caller writes p itself) when the loop has no ring,
// p is large, bytes wait in s's own buffer, or Flush is calling back. Add flushes first when the batch
// is full. The caller must make sure s has no entry unless it is Last.
func (b *Sends) Add(s *Socket, p []byte, o SendOwner) bool {
	if b.ring == nil || b.busy || len(p) > sendMax || s.buf != nil {
		return false // (bytes wait in s's own buffer: these go behind them)
	}
	if n := len(b.ents); n > 0 && b.ents[n-1].s == s && len(b.buf)+len(p) <= sendsBytes {
		b.buf = append(b.buf, p...)
		b.ents[n-1].to = int32(len(b.buf))
		return true
	}
	if len(b.ents) == b.ring.Cap() || len(b.buf)+len(p) > sendsBytes {
		b.Flush()
		if b.ring == nil || s.buf != nil {
			return false
		}
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, sendsBytes)
	}
	from := int32(len(b.buf))
	b.buf = append(b.buf, p...)
	b.ents = append(b.ents, sendEntry{s: s, o: o, from: from, to: int32(len(b.buf))})
	return true
}

// Pending reports whether entries wait for Flush.
func (b *Sends) Pending() bool { return len(b.ents) > 0 }

// Flush sends every entry and tells each owner how it went. Owners may
// close sockets from Sent; those closes do not flush again.
func (b *Sends) Flush() {
	if len(b.ents) == 0 || b.busy {
		return
	}
	ents := b.ents
	b.ents = b.spare[:0]
	b.busy = true
	if len(ents) == 1 {
		// One send: send(2) costs less than an io_uring_enter with one
		// entry (contrib/floor/ringbatch: 6.8 against 8-11 us per send
		// and receive of 64 bytes on BENCHMARKS.md's VM).
		ents[0].sendNow(b.buf)
	} else {
		for i := range ents {
			e := &ents[i]
			b.ring.Send(e.s.FD(), b.buf[e.from:e.to], uint64(i))
		}
		err := b.ring.Submit(func(tag uint64, res int32) {
			e := &ents[tag]
			e.finish(b.buf[e.from:e.to], res)
			e.s = nil // done
		})
		if err != nil {
			// The ring broke: the sends it did not complete are written
			// directly, in order, and the loop stops batching.
			b.ring = nil
			for i := range ents {
				if ents[i].s != nil {
					ents[i].sendNow(b.buf)
				}
			}
		}
	}
	for i := range ents {
		ents[i] = sendEntry{}
	}
	b.spare = ents
	b.buf = b.buf[:0]
	b.busy = false
}

// sendNow writes the entry's bytes (in buf) with send(2) and tells its
// owner how it went.
func (e *sendEntry) sendNow(buf []byte) {
	p := buf[e.from:e.to]
	n, err := e.s.send(p)
	e.o.Sent(e.s, p[n:], err)
	e.s = nil
}

// finish handles one entry's result: bytes sent, or a negated errno.
func (e *sendEntry) finish(p []byte, res int32) {
	switch {
	case res >= 0:
		e.o.Sent(e.s, p[res:], nil)
	case unix.Errno(-res) == unix.EAGAIN || unix.Errno(-res) == unix.EINTR:
		e.o.Sent(e.s, p, nil)
	default:
		e.o.Sent(e.s, nil, unix.Errno(-res))
	}
}

// Close releases the ring.
func (b *Sends) Close() {
	if b.ring != nil {
		_ = b.ring.Close()
		b.ring = nil
	}
}

// Recv reads into ps[i] from socket fds[i], for every i, in one system
// call through the loop's ring (each recv(2) non-blocking): res[i] is the
// bytes read, 0 at end of stream, or a negated errno. It reports false,
// having read nothing, when there is no ring or Flush is under way; the
// sends waiting in the batch are not touched. If the ring breaks, the
// receives it did not report say EAGAIN (nothing read) and the loop stops
// using it.
func (b *Sends) Recv(fds []int32, ps [][]byte, res []int32) bool {
	if b.ring == nil || b.busy || len(fds) > b.ring.Cap() {
		return false
	}
	for i, fd := range fds {
		res[i] = -int32(unix.EAGAIN)
		b.ring.Recv(int(fd), ps[i], uint64(i))
	}
	if err := b.ring.Submit(func(tag uint64, r int32) { res[tag] = r }); err != nil {
		b.ring = nil
	}
	return true
}

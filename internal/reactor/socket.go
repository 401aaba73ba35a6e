package reactor

import (
	"math"

	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
)

// Socket is a non-blocking socket of a loop and its lazy output buffer:
// bytes go straight to the socket while it takes them, and what it does not take waits in a
// pooled buffer, taken only then and given back as soon as it drains.
//
// Buffer states:
//
//	buf == nil   nothing waits; Write goes straight to the socket
//	buf != nil   buf.B[off:] waits for Writable; the caller should stop
//	             reading whatever feeds this socket (back-pressure)
//
// The descriptor and the offset are 32-bit, as the kernel's descriptors
// are: a Socket is 16 bytes, embedded in every connection's endpoints.
type Socket struct {
	fd  int32
	off int32                      // written prefix of buf.B (Flush keeps it below 2 GiB)
	buf *bytebufferpool.ByteBuffer // pending output, nil when none
}

// FD returns the descriptor (-1 once closed).
func (s *Socket) FD() int { return int(s.fd) }

// SetFD sets the descriptor.
func (s *Socket) SetFD(fd int) { s.fd = int32(fd) }

// Pending reports how many bytes wait.
func (s *Socket) Pending() int {
	if s.buf == nil {
		return 0
	}
	return len(s.buf.B) - int(s.off)
}

// Write sends p, or queues what the socket does not take; it never
// blocks. p's bytes are copied if queued, so the caller may reuse them.
func (s *Socket) Write(p []byte) error {
	if s.buf == nil {
		n, err := s.send(p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	s.Queue(p)
	return nil
}

// send writes as much of p as the socket takes now: n bytes, until
// EAGAIN or an error.
func (s *Socket) send(p []byte) (n int, err error) {
	for n < len(p) {
		m, err := sock.Send(s.FD(), p[n:])
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// Queue appends p to the pending output without trying the socket (it is
// not connected yet, or bytes for it wait elsewhere).
func (s *Socket) Queue(p []byte) {
	if len(p) == 0 {
		return
	}
	if s.buf == nil {
		s.buf = bytebufferpool.Get()
		s.off = 0
	}
	s.buf.B = append(s.buf.B, p...)
}

// QueueBuffer queues b, taking ownership of it (it goes back to the pool).
func (s *Socket) QueueBuffer(b *bytebufferpool.ByteBuffer) {
	if s.buf == nil {
		s.buf, s.off = b, 0
		return
	}
	s.buf.B = append(s.buf.B, b.B...)
	bytebufferpool.Put(b)
}

// Flush writes pending bytes. It reports whether none is left.
func (s *Socket) Flush() (bool, error) {
	if s.buf == nil {
		return true, nil
	}
	off := int(s.off)
	for off < len(s.buf.B) {
		n, err := sock.Send(s.FD(), s.buf.B[off:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			s.setOff(off)
			if err == unix.EAGAIN {
				return false, nil
			}
			return false, err
		}
		off += n
	}
	s.Release()
	return true, nil
}

// setOff records the written prefix. A prefix past 2 GiB (an owner with
// no back-pressure limit) is cut from the buffer instead.
func (s *Socket) setOff(off int) {
	if off > math.MaxInt32 {
		s.buf.B = s.buf.B[:copy(s.buf.B, s.buf.B[off:])]
		off = 0
	}
	s.off = int32(off)
}

// Release gives the buffer back, dropping what waits in it.
func (s *Socket) Release() {
	if s.buf != nil {
		bytebufferpool.Put(s.buf)
		s.buf = nil
		s.off = 0
	}
}

// Read reads from the socket into p. n == 0 with a nil error is EOF;
// EAGAIN returns (0, unix.EAGAIN).
func (s *Socket) Read(p []byte) (int, error) { return sock.RecvRetry(s.FD(), p) }

// Queued reports whether a buffer holds pending output (possibly none
// left to write, until Flush gives it back).
func (s *Socket) Queued() bool { return s.buf != nil }

// Take removes the pending output and returns it: the bytes not written
// are b.B[off:]. The caller owns b.
func (s *Socket) Take() (b *bytebufferpool.ByteBuffer, off int) {
	b, off = s.buf, int(s.off)
	s.buf, s.off = nil, 0
	return b, off
}

// Restore makes b.B[off:] the pending output of a socket with none,
// taking ownership of b (from Take, of this socket or another).
func (s *Socket) Restore(b *bytebufferpool.ByteBuffer, off int) {
	s.buf = b
	s.setOff(off)
}

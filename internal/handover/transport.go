package handover

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Tunnel is one tunnel in transit: its State and its two socket
// descriptors. Whoever holds a Tunnel owns the descriptors: it imports
// them, passes them on, or closes them.
type Tunnel struct {
	State
	ClientFD, UpstreamFD int
}

// Close closes both descriptors of t (its holder's copies: the sockets live
// on while another process holds them).
func (t *Tunnel) Close() {
	unix.Close(t.ClientFD)
	unix.Close(t.UpstreamFD)
}

// MaxBatch is the most tunnels one message carries: two descriptors each,
// within the kernel's limit of 253 descriptors per SCM_RIGHTS message
// (SCM_MAX_FD).
const MaxBatch = 126

// maxMessage bounds the bytes of one message. A batch whose states would
// take more is sent as several messages; one State takes at most about
// 12 KiB (three names of MaxName bytes), so any one fits.
const maxMessage = 64 << 10

// Message kinds, the first byte of each message.
const (
	msgBatch = 'B' // sender → receiver: tunnels, their descriptors attached
	msgAck   = 'A' // receiver → sender: how many of the batch it took (a prefix)
	msgEnd   = 'E' // sender → receiver: nothing more
)

// Errors of the transport.
var (
	ErrBatch   = errors.New("handover: malformed batch")
	ErrMessage = errors.New("handover: unexpected message")
)

// Conn is one end of the unix socket (SOCK_SEQPACKET, or SOCK_STREAM
// between processes that trust each other to write whole messages) over
// which a sending process hands tunnels to a receiving one.
type Conn struct {
	uc  *net.UnixConn
	buf []byte // a message being written or the last one read
	oob []byte // received descriptors
	st  []byte // one encoded state
}

// NewConn makes a Conn of f, a connected unix socket; the Conn has its own
// descriptor, and the caller closes f.
func NewConn(f *os.File) (*Conn, error) {
	nc, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	uc, ok := nc.(*net.UnixConn)
	if !ok {
		nc.Close()
		return nil, fmt.Errorf("handover: %s is not a unix socket", f.Name())
	}
	return &Conn{uc: uc, buf: make([]byte, maxMessage+1), oob: make([]byte, unix.CmsgSpace(4*2*MaxBatch))}, nil
}

// Pair returns the two ends of a new SOCK_SEQPACKET socketpair, as the
// master makes one for each pair of old and new worker, and tests do.
func Pair() (*os.File, *os.File, error) {
	// Close-on-exec set under ForkLock, as package net does where
	// SOCK_CLOEXEC does not exist: no child started meanwhile inherits an
	// end (which would keep the other from seeing it close).
	syscall.ForkLock.RLock()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	return os.NewFile(uintptr(fds[0]), "handover"), os.NewFile(uintptr(fds[1]), "handover"), nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.uc.Close() }

// SetDeadline bounds every read and write of c, as net.Conn's.
func (c *Conn) SetDeadline(t time.Time) error { return c.uc.SetDeadline(t) }

// sendBatch sends the first tunnels of ts, as many as one message takes
// (at most MaxBatch, and maxMessage bytes), and returns how many.
func (c *Conn) sendBatch(ts []Tunnel) (int, error) {
	b := append(c.buf[:0], msgBatch, 0) // the count, patched below (≤ MaxBatch: one byte)
	fds := make([]int, 0, 2*min(len(ts), MaxBatch))
	n := 0
	for n < len(ts) && n < MaxBatch {
		c.st = ts[n].State.Append(c.st[:0])
		if n > 0 && len(b)+binary.MaxVarintLen64+len(c.st) > maxMessage {
			break
		}
		b = binary.AppendUvarint(b, uint64(len(c.st)))
		b = append(b, c.st...)
		fds = append(fds, ts[n].ClientFD, ts[n].UpstreamFD)
		n++
	}
	b[1] = byte(n)
	c.buf = b[:0]
	if _, _, err := c.uc.WriteMsgUnix(b, unix.UnixRights(fds...), nil); err != nil {
		return 0, err
	}
	return n, nil
}

func (c *Conn) send(kind byte, n int) error {
	b := binary.AppendUvarint(append(c.buf[:0], kind), uint64(n))
	_, err := c.uc.Write(b)
	return err
}

// recv reads one message: its kind, its payload (valid until the next recv)
// and the descriptors that came with it, which the caller owns.
func (c *Conn) recv() (kind byte, payload []byte, fds []int, err error) {
	b := c.buf[:cap(c.buf)]
	n, oobn, flags, _, err := c.uc.ReadMsgUnix(b, c.oob)
	if oobn > 0 {
		fds = parseRights(c.oob[:oobn])
	}
	switch {
	case err != nil:
		closeAll(fds)
		return 0, nil, nil, err
	case n == 0:
		closeAll(fds)
		return 0, nil, nil, io.EOF
	case flags&unix.MSG_TRUNC != 0 || n > maxMessage:
		closeAll(fds)
		return 0, nil, nil, fmt.Errorf("%w: longer than %d bytes", ErrBatch, maxMessage)
	}
	// MSG_CTRUNC (the receiver is out of descriptors) is not an error
	// here: the batch names fewer tunnels than came whole, and decodeBatch
	// takes only the ones whose descriptors arrived.
	return b[0], b[1:n], fds, nil
}

// parseRights returns the descriptors of the SCM_RIGHTS messages in oob.
func parseRights(oob []byte) []int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var fds []int
	for i := range msgs {
		if r, err := unix.ParseUnixRights(&msgs[i]); err == nil {
			fds = append(fds, r...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// decodeBatch parses a batch's payload and pairs its states with fds, two
// per tunnel in order. Tunnels beyond the descriptors that arrived are
// left out (their senders keep them); descriptors beyond the tunnels
// named, or of a batch that does not parse, are closed.
func decodeBatch(p []byte, fds []int) ([]Tunnel, error) {
	if len(p) == 0 || p[0] > MaxBatch {
		closeAll(fds)
		return nil, ErrBatch
	}
	n := int(p[0])
	p = p[1:]
	ts := make([]Tunnel, 0, min(n, len(fds)/2))
	for i := 0; i < n; i++ {
		size, k := binary.Uvarint(p)
		if k <= 0 || size > uint64(len(p)-k) {
			closeAll(fds)
			return nil, ErrBatch
		}
		p = p[k:]
		var t Tunnel
		if err := t.State.Decode(p[:size]); err != nil {
			closeAll(fds)
			return nil, fmt.Errorf("%w: tunnel %d: %w", ErrBatch, i, err)
		}
		p = p[size:]
		if 2*i+1 < len(fds) {
			t.ClientFD, t.UpstreamFD = fds[2*i], fds[2*i+1]
			ts = append(ts, t)
		}
	}
	if len(p) > 0 {
		closeAll(fds)
		return nil, ErrBatch
	}
	closeAll(fds[2*len(ts):])
	return ts, nil
}

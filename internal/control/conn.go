// Package control is the channel between a master and each of its worker
// processes: a unix SOCK_SEQPACKET socket pair, one end kept by the master
// and the other inherited by the worker, carrying typed messages with a
// body and, when needed, file descriptors (SCM_RIGHTS).
//
// Conn sends and receives single messages. Peer runs a goroutine that
// reads a Conn, hands requests and notifications to the handler registered
// for their type, and matches replies to the Call waiting for them, so
// that a master can ask every worker something and wait for each answer.
//
// Messages keep their order. A body may be up to MaxBody bytes (it goes as
// several packets when larger than one socket buffer) and a message may
// carry up to MaxFDs descriptors. Descriptors received belong to the
// receiver, which must close them; descriptors sent stay the sender's.
package control

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Message is one message as received.
type Message struct {
	// Type names what the message is about, e.g. "apply"; for a reply,
	// the type of the request it answers.
	Type string
	// Body is the message's bytes; the receiver owns them.
	Body []byte
	// FDs are the descriptors it carried; the receiver owns and closes
	// them.
	FDs []int

	id   uint64
	kind byte
}

// Conn is one end of a control socket. Send may be called from several
// goroutines at once; Recv from one at a time.
type Conn struct {
	uc *net.UnixConn

	wmu sync.Mutex // keeps the packets of one message together

	asm  assembler
	buf  []byte // one packet
	oob  []byte // room for MaxFDs descriptors
	fds  []int  // received with the message being assembled
	rerr error
}

// Pair returns the two connected ends of a new control socket. Both are
// close-on-exec; pass one to a child with File.
func Pair() (*Conn, *Conn, error) {
	fds, err := socketpair()
	if err != nil {
		return nil, nil, os.NewSyscallError("socketpair", err)
	}
	a, err := FromFD(fds[0], "control")
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	b, err := FromFD(fds[1], "control")
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, b, nil
}

// FromFD makes a Conn of a SOCK_SEQPACKET unix socket descriptor, such as
// the one a worker inherits. The Conn owns fd.
func FromFD(fd int, name string) (*Conn, error) {
	f := os.NewFile(uintptr(fd), name)
	if f == nil {
		return nil, fmt.Errorf("control: invalid descriptor %d", fd)
	}
	defer f.Close() // FileConn duplicates it
	c, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("control: descriptor %d: %w", fd, err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("control: descriptor %d is not a unix socket", fd)
	}
	return &Conn{uc: uc, buf: make([]byte, maxPacket+1), oob: make([]byte, unix.CmsgSpace(4*MaxFDs))}, nil
}

// File returns a duplicate of the socket as a file, to hand to a child
// process (exec.Cmd.ExtraFiles); the caller closes it once the child has
// started.
func (c *Conn) File() (*os.File, error) { return c.uc.File() }

// Close closes the socket; a Recv or Send in progress returns an error.
func (c *Conn) Close() error { return c.uc.Close() }

// Send writes one message of the given type, with body and, on its first
// packet, fds (at most MaxFDs). It returns once the kernel has taken it.
func (c *Conn) Send(msgType string, body []byte, fds ...int) error {
	return c.send(header{kind: kindNotify, typ: msgType, bodyLen: len(body)}, body, fds)
}

func (c *Conn) send(h header, body []byte, fds []int) error {
	switch {
	case len(h.typ) > maxType:
		return errTypeLen
	case len(body) > MaxBody:
		return errTooLarge
	case len(fds) > MaxFDs:
		return errTooManyFD
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for i, p := range packets(h, body) {
		if i > 0 {
			oob = nil
		}
		if _, _, err := c.uc.WriteMsgUnix(p, oob, nil); err != nil {
			return err
		}
	}
	return nil
}

// Recv reads the next message. io.EOF means the other end was closed, an
// error wrapping net.ErrClosed that this one was. A packet that breaks the format
// is an error, after which the Conn should be closed.
func (c *Conn) Recv() (Message, error) {
	if c.rerr != nil {
		return Message{}, c.rerr
	}
	for {
		n, oobn, flags, _, err := c.uc.ReadMsgUnix(c.buf, c.oob)
		if errors.Is(err, io.EOF) {
			err = io.EOF
		}
		if err != nil {
			return Message{}, c.fail(err)
		}
		fds, ferr := parseRights(c.oob[:oobn])
		if ferr == nil && flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			ferr = errors.New("control: packet or descriptors truncated")
		}
		if ferr == nil && n == 0 {
			ferr = io.EOF // a zero-length packet: the peer closed its end
		}
		if ferr == nil && len(fds) > 0 && (c.asm.open || c.buf[0]&flagFirst == 0) {
			ferr = errFDsLater
		}
		if ferr != nil {
			closeFDs(fds)
			return Message{}, c.fail(ferr)
		}
		c.fds = append(c.fds, fds...)
		done, err := c.asm.add(c.buf[:n])
		if err != nil {
			return Message{}, c.fail(err)
		}
		if done {
			m := Message{Type: c.asm.h.typ, Body: c.asm.body, FDs: c.fds, id: c.asm.h.id, kind: c.asm.h.kind}
			c.asm.body, c.fds = nil, nil
			return m, nil
		}
	}
}

// fail makes every later Recv return err and closes the descriptors of a
// message left half-assembled.
func (c *Conn) fail(err error) error {
	closeFDs(c.fds)
	c.fds = nil
	c.asm.reset()
	c.rerr = err
	return err
}

// parseRights returns the descriptors of SCM_RIGHTS messages in oob.
func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, os.NewSyscallError("parse control message", err)
	}
	var fds []int
	for _, m := range msgs {
		if m.Header.Level != unix.SOL_SOCKET || m.Header.Type != unix.SCM_RIGHTS {
			continue
		}
		r, err := unix.ParseUnixRights(&m)
		if err != nil {
			closeFDs(fds)
			return nil, os.NewSyscallError("parse rights", err)
		}
		fds = append(fds, r...)
	}
	return fds, nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// Package wsseq is a WebSocket client for the hand-over tests: it sends
// numbered messages through a proxy to an echo backend and checks that the
// echoes come back whole and in order, none missing or repeated. It
// answers Pings (and counts them), treats a Close frame or a failed read
// as an error, and can leave a fragmented message open across a hand-over.
package wsseq

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// Client is one tunnel. Its methods other than Send and Pump may be called
// from any goroutine.
type Client struct {
	id    int
	c     net.Conn
	br    *bufio.Reader
	out   chan []byte   // frames for the writer goroutine
	pongs chan []byte   // Pongs, which go before queued frames
	next  uint64        // the number of the next message to send (Send, Pump)
	every atomic.Uint64 // every every-th message is large (Size); 0: none
	large atomic.Int64

	sentAt [64]atomic.Int64 // unix nanos message n was queued, at n%64
	maxRTT atomic.Int64     // the longest time from queueing a message to its echo

	got   atomic.Uint64 // echoes checked
	pings atomic.Uint64
	frags atomic.Uint64 // fragments echoed (OpenFragment, CloseFragment)
	err   atomic.Pointer[error]
	evmu  sync.Mutex
	ev    chan struct{} // closed and replaced on every frame read and on an error

	closeOnce sync.Once
	quit      chan struct{} // closed by Close

	stop chan struct{} // Pump
	done chan struct{}
}

// Dial opens a tunnel to path through the proxy at addr; deadline bounds
// the whole life of the connection, as a hang guard.
func Dial(addr, path string, id int, deadline time.Time) (*Client, error) {
	c, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return nil, err
	}
	return Open(c, path, id, deadline)
}

// Open is Dial over c, a connection to the proxy already made (a
// *tls.Conn for wss://). The Client owns c.
func Open(c net.Conn, path string, id int, deadline time.Time) (*Client, error) {
	c.SetDeadline(deadline)
	req := "GET " + path + " HTTP/1.1\r\nHost: wsseq\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	status, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(status, "HTTP/1.1 101") {
		c.Close()
		return nil, fmt.Errorf("wsseq: client %d: got %q, %v; want a 101", id, status, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if line == "\r\n" {
			break
		}
	}
	cl := &Client{id: id, c: c, br: br, ev: make(chan struct{}), quit: make(chan struct{}), out: make(chan []byte, 16), pongs: make(chan []byte, 16)}
	cl.SetLarge(16, 128<<10)
	go cl.read()
	go cl.writer()
	return cl, nil
}

// Close closes the connection.
func (cl *Client) Close() {
	cl.c.Close()
	cl.closeOnce.Do(func() { close(cl.quit) })
}

// writer writes the frames queued, Pongs first. It is the only writer of
// the connection, so the reader never waits for a write: a reader that
// did (a Pong behind a large message the proxy cannot take while the
// client does not read) would deadlock the client.
func (cl *Client) writer() {
	for {
		var b []byte
		select {
		case b = <-cl.pongs:
		default:
			select {
			case b = <-cl.pongs:
			case b = <-cl.out:
			case <-cl.quit:
				return
			}
		}
		if _, err := cl.c.Write(b); err != nil {
			cl.fail(err)
			return
		}
	}
}

// Sent, Echoed and Pings count messages sent, echoes checked and Pings
// answered.
func (cl *Client) Sent() uint64   { return atomic.LoadUint64(&cl.next) }
func (cl *Client) Echoed() uint64 { return cl.got.Load() }
func (cl *Client) Pings() uint64  { return cl.pings.Load() }

// MaxRTT is the longest time a message took to come back (exact while at
// most 64 are outstanding).
func (cl *Client) MaxRTT() time.Duration { return time.Duration(cl.maxRTT.Load()) }

// Err is the first error the client saw: a read or check that failed, a
// Close frame.
func (cl *Client) Err() error {
	if p := cl.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Size is the payload of message n: every 16th is 128 KiB (the proxy
// splices those) unless SetLarge says otherwise, the others a few bytes,
// different per client.
func (cl *Client) Size(n uint64) int {
	if every := cl.every.Load(); every > 0 && n%every == every-1 {
		return int(cl.large.Load())
	}
	return 8 + cl.id%64
}

// SetLarge makes every every-th message size bytes long (0: none). Call it
// before the first message.
func (cl *Client) SetLarge(every uint64, size int) {
	cl.every.Store(every)
	cl.large.Store(int64(size))
}

// message builds message n: its number, then filler that depends on it.
func (cl *Client) message(n uint64) []byte {
	p := make([]byte, cl.Size(n))
	binary.BigEndian.PutUint64(p, n)
	for i := 8; i < len(p); i++ {
		p[i] = byte(n) + byte(i)
	}
	return p
}

// frame returns the masked frame of p.
func (cl *Client) frame(op ws.OpCode, fin bool, p []byte) []byte {
	h := ws.Header{Fin: fin, OpCode: op, Length: int64(len(p)), Masked: true, Mask: [4]byte{'s', 'e', 'q', byte(cl.id)}}
	b := make([]byte, 0, ws.MaxHeaderSize+len(p))
	var hb headerBuf
	_ = ws.WriteHeader(&hb, h) // writes to memory
	b = append(append(b, hb...), p...)
	ws.Cipher(b[len(hb):], h.Mask, 0)
	return b
}

// write queues a frame for the writer; it fails once the client failed.
func (cl *Client) write(op ws.OpCode, fin bool, p []byte) error {
	if err := cl.Err(); err != nil {
		return err
	}
	select {
	case cl.out <- cl.frame(op, fin, p):
		return nil
	case <-cl.quit:
		return net.ErrClosed
	}
}

type headerBuf []byte

func (h *headerBuf) Write(p []byte) (int, error) { *h = append(*h, p...); return len(p), nil }

// Send sends the next n messages.
func (cl *Client) Send(n int) error {
	for range n {
		cl.sentAt[cl.next%64].Store(time.Now().UnixNano())
		if err := cl.write(ws.OpBinary, true, cl.message(cl.next)); err != nil {
			return err
		}
		atomic.AddUint64(&cl.next, 1)
	}
	return nil
}

// Wait waits until n echoes have been checked, or an error, or timeout.
func (cl *Client) Wait(n uint64, timeout time.Duration) error {
	return cl.waitFor(func() bool { return cl.got.Load() >= n }, timeout, fmt.Sprintf("%d echoes", n))
}

// WaitPings waits until the client has answered n Pings in all.
func (cl *Client) WaitPings(n uint64, timeout time.Duration) error {
	return cl.waitFor(func() bool { return cl.pings.Load() >= n }, timeout, fmt.Sprintf("%d Pings", n))
}

// waitFor waits until cond holds, an error, or timeout.
func (cl *Client) waitFor(cond func() bool, timeout time.Duration, what string) error {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		ch := cl.changed()
		if err := cl.Err(); err != nil {
			return err
		}
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-tm.C:
			return fmt.Errorf("wsseq: client %d: no %s after %s (sent %d, echoed %d, pings %d)",
				cl.id, what, timeout, cl.Sent(), cl.Echoed(), cl.Pings())
		}
	}
}

func (cl *Client) changed() <-chan struct{} {
	cl.evmu.Lock()
	defer cl.evmu.Unlock()
	return cl.ev
}

// fragment is the payload of each half of the fragmented message.
func (cl *Client) fragment() []byte { return []byte(fmt.Sprintf("fragment of client %d", cl.id)) }

// OpenFragment sends the first frame of a text message and waits for its
// echo: the message stays open (both directions inside a fragmented
// message) until CloseFragment. No other message may be sent meanwhile.
func (cl *Client) OpenFragment(timeout time.Duration) error {
	if err := cl.write(ws.OpText, false, cl.fragment()); err != nil {
		return err
	}
	return cl.waitFrags(1, timeout)
}

// CloseFragment sends the final continuation frame and waits for its echo.
func (cl *Client) CloseFragment(timeout time.Duration) error {
	if err := cl.write(ws.OpContinuation, true, cl.fragment()); err != nil {
		return err
	}
	return cl.waitFrags(2, timeout)
}

func (cl *Client) waitFrags(n uint64, timeout time.Duration) error {
	return cl.waitFor(func() bool { return cl.frags.Load() >= n }, timeout, "fragment echo")
}

func (cl *Client) signal() {
	cl.evmu.Lock()
	close(cl.ev)
	cl.ev = make(chan struct{})
	cl.evmu.Unlock()
}

func (cl *Client) fail(err error) {
	cl.err.CompareAndSwap(nil, &err)
	cl.signal()
}

// ErrClosed is the error of a client whose proxy sent a Close frame.
var ErrClosed = errors.New("wsseq: Close frame received")

// read checks what arrives until the connection fails.
func (cl *Client) read() {
	for {
		h, err := ws.ReadHeader(cl.br)
		if err != nil {
			cl.fail(fmt.Errorf("wsseq: client %d: read: %w", cl.id, err))
			return
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(cl.br, p); err != nil {
			cl.fail(fmt.Errorf("wsseq: client %d: read: %w", cl.id, err))
			return
		}
		switch {
		case h.OpCode == ws.OpPing:
			cl.pings.Add(1)
			select {
			case cl.pongs <- cl.frame(ws.OpPong, true, p):
			default:
				cl.fail(fmt.Errorf("wsseq: client %d: Pings faster than it can answer", cl.id))
				return
			}
		case h.OpCode == ws.OpClose:
			cl.fail(fmt.Errorf("client %d: %w: %x", cl.id, ErrClosed, p))
			return
		case h.OpCode == ws.OpText || h.OpCode == ws.OpContinuation:
			if string(p) != string(cl.fragment()) || h.Fin != (h.OpCode == ws.OpContinuation) {
				cl.fail(fmt.Errorf("wsseq: client %d: fragment garbled: %q", cl.id, p))
				return
			}
			cl.frags.Add(1)
		case !h.Fin:
			cl.fail(fmt.Errorf("wsseq: client %d: unexpected fragment", cl.id))
			return
		default:
			want := cl.got.Load()
			if exp := cl.message(want); string(p) != string(exp) {
				var n uint64
				if len(p) >= 8 {
					n = binary.BigEndian.Uint64(p)
				}
				cl.fail(fmt.Errorf("wsseq: client %d: got message %d (%d bytes); want message %d (%d bytes)", cl.id, n, len(p), want, len(exp)))
				return
			}
			if rtt := time.Now().UnixNano() - cl.sentAt[want%64].Load(); rtt > cl.maxRTT.Load() {
				cl.maxRTT.Store(rtt) // only the reader writes it
			}
			cl.got.Add(1)
		}
		cl.signal()
	}
}

// Pump sends messages until Stop, at most window of them without an echo,
// one every interval (0: as fast as the window allows). Stop waits for
// the last echo.
func (cl *Client) Pump(window int, interval time.Duration) {
	cl.stop, cl.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(cl.done)
		for {
			select {
			case <-cl.stop:
				return
			default:
			}
			ch := cl.changed()
			if cl.Err() != nil {
				return
			}
			if cl.Sent()-cl.Echoed() >= uint64(window) {
				select {
				case <-ch:
				case <-cl.stop:
					return
				}
				continue
			}
			if err := cl.Send(1); err != nil {
				cl.fail(err)
				return
			}
			if interval > 0 {
				select {
				case <-time.After(interval):
				case <-cl.stop:
					return
				}
			}
		}
	}()
}

// Stop ends Pump and waits until every message sent has come back.
func (cl *Client) Stop(timeout time.Duration) error {
	close(cl.stop)
	<-cl.done
	return cl.Wait(cl.Sent(), timeout)
}

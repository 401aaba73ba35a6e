package tlsloop

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// memConn is one end of an in-memory connection. Until nonBlocking is set
// its Read waits for bytes; afterwards it returns errWouldBlock instead,
// like the adapter the loop drives. Bytes written to it reach the peer's
// wire and are delivered to its input by deliver, or at once while
// blocking, so a test can cut records in pieces.
type memConn struct {
	mu          sync.Mutex
	cond        sync.Cond
	in, wire    bytes.Buffer
	nonBlocking bool
	peer        *memConn
}

func memPipe() (*memConn, *memConn) {
	a, b := &memConn{}, &memConn{}
	a.cond.L, b.cond.L = &a.mu, &b.mu
	a.peer, b.peer = b, a
	return a, b
}

func (c *memConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.in.Len() == 0 {
		if c.nonBlocking {
			return 0, errWouldBlock
		}
		c.cond.Wait()
	}
	return c.in.Read(p)
}

func (c *memConn) Write(p []byte) (int, error) {
	r := c.peer
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.nonBlocking {
		r.wire.Write(p)
	} else {
		r.in.Write(p)
		r.cond.Broadcast()
	}
	return len(p), nil
}

// deliver moves n bytes (all if n < 0) from c's wire to its input.
func (c *memConn) deliver(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n < 0 || n > c.wire.Len() {
		n = c.wire.Len()
	}
	c.in.Write(c.wire.Next(n))
}

func (c *memConn) setNonBlocking() {
	c.mu.Lock()
	c.nonBlocking = true
	c.mu.Unlock()
}

func (c *memConn) Close() error                     { return nil }
func (c *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error      { return nil }
func (c *memConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memConn) SetWriteDeadline(time.Time) error { return nil }

// TestTLSConnSurvivesWouldBlock checks what the loop relies on: after the
// handshake, a Timeout+Temporary error from the underlying conn, with no
// bytes or with half a record, is passed on by tls.Conn.Read without
// failing the connection, and the next Read continues where it stopped.
func TestTLSConnSurvivesWouldBlock(t *testing.T) {
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			srv, cli, sc, _ := memHandshake(t, v)
			sc.setNonBlocking() // the client end stays blocking: io.ReadFull below
			buf := make([]byte, 64<<10)

			// Nothing buffered.
			if n, err := srv.Read(buf); n != 0 || !isWouldBlock(err) {
				t.Fatalf("Read with no input = %d, %v; want 0, errWouldBlock", n, err)
			}
			// Half a record, then the rest.
			msg := bytes.Repeat([]byte("0123456789abcdef"), 1000)
			if _, err := cli.Write(msg); err != nil {
				t.Fatal(err)
			}
			sc.deliver(7)
			if n, err := srv.Read(buf); n != 0 || !isWouldBlock(err) {
				t.Fatalf("Read of a partial record = %d, %v; want 0, errWouldBlock", n, err)
			}
			sc.deliver(-1)
			var got []byte
			for len(got) < len(msg) {
				n, err := srv.Read(buf)
				if err != nil {
					t.Fatalf("Read after the record completed: %v (got %d of %d bytes)", err, len(got), len(msg))
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("got %d bytes, not the %d written", len(got), len(msg))
			}
			// Writing still works, and so does the clean end.
			if _, err := srv.Write([]byte("pong")); err != nil {
				t.Fatalf("Write after would-block reads: %v", err)
			}
			if _, err := io.ReadFull(cli, buf[:4]); err != nil || string(buf[:4]) != "pong" {
				t.Fatalf("client read %q, %v; want pong", buf[:4], err)
			}
			if err := cli.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			sc.deliver(-1)
			if n, err := srv.Read(buf); n != 0 || err != io.EOF {
				t.Fatalf("Read after close_notify = %d, %v; want 0, EOF", n, err)
			}
		})
	}
}

func isWouldBlock(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

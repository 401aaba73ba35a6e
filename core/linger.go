package core

import (
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
	"wsproxy/internal/tlsloop"
)

// Lingering close, as nginx's lingering_close. A connection the proxy
// closes after a final answer (an error status, or a response to a
// request that said Connection: close) may still have client bytes on
// their way or unread in the socket: a header line over the limit, a body
// the proxy will not forward, pipelined requests. Closing a socket with
// unread input makes the kernel send a reset, and a client that gets a
// reset while it is still sending drops the answer unread (curl, most
// libraries). So the proxy shuts down its write side once the answer is
// written, which the client sees as the end of the answer, reads and
// discards until the client closes too, and only then closes:
//
//	stClosing, answer queued    --flushed-->  lingering: SHUT_WR sent   --EOF, error, limit-->  closed
//	(no reading; lingerTimeout to flush)      (reads into the loop's buffer, discarded)
//
// Lingering is bounded by time, as nginx's lingering_time (30 s in all)
// and lingering_timeout (5 s without a byte), and by size (lingerMaxKiB
// discarded): a client past either is closed, reset or not. A lingering
// connection holds no buffer of its own (no input, no exchange, no
// output) and stays counted against max_conns and max_conns_per_ip.
const (
	lingerTime   = 30 * time.Second
	lingerMaxKiB = 1024 // 1 MiB discarded at most
)

// lingerTimeout bounds how long a final answer may take to reach a client.
const lingerTimeout = 5 * time.Second

// closeAfterAnswer closes the connection once the final answer queued for
// the client is written and its input is drained.
func (c *conn) closeAfterAnswer() {
	c.st = stClosing
	if !c.settle() {
		return
	}
	if c.cl.pending() == 0 {
		c.linger()
		return
	}
	c.schedule(lingerTimeout) // to write the answer
}

// linger starts the lingering close of a connection whose answer is
// written. It does nothing if lingering has started.
func (c *conn) linger() {
	if c.flags&cfLingering != 0 {
		return
	}
	cl := &c.cl
	if cl.flags&epEOF != 0 {
		c.close() // the client has finished sending: nothing is left unread
		return
	}
	if t := cl.tls; t != nil {
		if t.Phase() == tlsloop.Ready && !c.closeNotify() {
			return // the alert waits for the socket; flushClient comes back
		}
		t.Quiet() // plaintext tls.Conn holds is not wanted now
	}
	c.flags |= cfLingering
	if c.in != nil {
		c.keepClient(nil, false) // pipelined input is discarded
	}
	c.endExchange()
	cl.flags |= epShutWrite | epWriteShut
	if err := sock.ShutdownWrite(cl.FD()); err != nil {
		c.close()
		return
	}
	c.cl.kib = 0
	now := c.cl.l.Now
	c.active = now.Add(lingerTime).UnixNano()
	c.schedule(lingerTimeout)
}

// closeNotify sends a TLS client the close_notify alert before the write
// side is shut, as nginx does (ngx_ssl_shutdown). It reports whether the
// alert is written.
func (c *conn) closeNotify() bool {
	c.cl.tls.CloseNotify() // sent once; later calls write nothing
	done, err := c.cl.flush()
	if err != nil {
		c.close()
		return false
	}
	return done
}

// lingerRead reads and discards what a lingering client sends. The bytes
// are read from the socket as they are, TLS or not: nothing in them is
// looked at.
func (c *conn) lingerRead() {
	l := c.cl.l
	n, err := sock.RecvRetry(c.cl.FD(), l.Buf)
	switch {
	case err == unix.EAGAIN:
		return
	case err != nil || n == 0:
		c.close()
		return
	}
	kib := (n + 1023) >> 10
	left := time.Duration(c.active - l.Now.UnixNano())
	if int(c.cl.kib)+kib > lingerMaxKiB || left <= 0 {
		c.close()
		return
	}
	c.cl.kib += uint16(kib)
	c.schedule(min(lingerTimeout, left))
}

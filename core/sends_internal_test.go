package core

import (
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/poller"
)

// fillSocket writes junk from fd until its send buffer (and the peer's
// receive buffer) is full, and returns how many bytes it wrote.
func fillSocket(t *testing.T, fd int) int {
	t.Helper()
	junk := make([]byte, 64<<10)
	total := 0
	for {
		n, err := unix.Write(fd, junk)
		if errors.Is(err, unix.EAGAIN) {
			return total
		}
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
}

// skipJunk reads and drops n bytes from fd.
func skipJunk(t *testing.T, fd, n int) {
	t.Helper()
	b := make([]byte, 64<<10)
	for n > 0 {
		m, err := unix.Read(fd, b[:min(n, len(b))])
		if err != nil || m <= 0 {
			t.Fatalf("reading junk: %d, %v with %d to go", m, err, n)
		}
		n -= m
	}
}

// TestBatchedSendToFullSocket: a tunnel's small writes of one cycle go
// out together (two sockets: one io_uring_enter); the socket that takes
// nothing gets its bytes queued, asks for Writable, and what the relay
// writes to it later queues behind them, so that the upstream receives
// everything in order once it reads; the other socket is not held up.
func TestBatchedSendToFullSocket(t *testing.T) {
	r, _ := newPrefetchRig(t)
	c, l := r.c, r.c.cl.l
	junk := fillSocket(t, c.up.FD())

	r.feed(t, toUpstream, wire(toUpstream, text("first")))
	r.feed(t, toClient, wire(toClient, text("back")))
	if c.up.flags&epBatched == 0 || c.cl.flags&epBatched == 0 || c.up.pending() != 0 {
		t.Fatalf("small writes not batched: flags %b / %b, pending %d", c.up.flags, c.cl.flags, c.up.pending())
	}
	l.Sends.Flush()
	if c.up.flags&epBatched != 0 || c.up.pending() == 0 {
		t.Fatalf("after the batch: flags %b, %d bytes queued for the full socket", c.up.flags, c.up.pending())
	}
	if c.up.events.event()&poller.Writable == 0 {
		t.Fatalf("the full socket's interest is %v: without Writable its bytes would wait forever", c.up.events.event())
	}
	if got := fmt.Sprint(r.received(t, 0)); got != fmt.Sprint([]frame{text("back")}) {
		t.Fatalf("the other socket got %s: one full socket must not hold it up", got)
	}
	r.feed(t, toUpstream, wire(toUpstream, text("second"))) // behind the queued bytes, not batched
	if c.up.flags&epBatched != 0 {
		t.Fatal("a write behind queued bytes was batched: it could overtake them")
	}

	skipJunk(t, r.peers[1], junk)
	c.onTunnel(c.up, poller.Writable)
	if got := fmt.Sprint(r.received(t, 1)); got != fmt.Sprint([]frame{text("first"), text("second")}) {
		t.Fatalf("upstream got %s", got)
	}
}

package core

import (
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/internal/wspolicy"
	"wsproxy/poller"
)

// A rig whose two endpoints are registered with its loop, so that the
// loop's read-ahead (prefetch.go) finds them by descriptor. It skips where
// the kernel gives the loop no io_uring (no read-ahead then; every other
// test covers that).
func newPrefetchRig(t *testing.T) (*relayRig, []poller.Ready) {
	t.Helper()
	r := newRelayRig(t, &wspolicy.Policy{Check: true}, 0)
	l := r.c.cl.l
	if !l.Sends.Batching() {
		t.Skip("no io_uring here: the loop reads each socket itself")
	}
	r.c.active = l.Now.UnixNano() // a tunnel that just moved bytes, not one idle since 1970
	var rs []poller.Ready
	for _, e := range []*endpoint{&r.c.cl, r.c.up} {
		if err := l.Register(e.FD(), e, poller.Readable); err != nil {
			t.Fatal(err)
		}
		e.flags |= epRegistered
		rs = append(rs, poller.Ready{FD: int32(e.FD()), Ev: poller.Readable})
	}
	return r, rs
}

func (r *relayRig) send(t *testing.T, peer int, p []byte) {
	t.Helper()
	if _, err := unix.Write(r.peers[peer], p); err != nil {
		t.Fatal(err)
	}
}

func TestPrefetchTakenByThePumpInOrder(t *testing.T) {
	r, rs := newPrefetchRig(t)
	c, l := r.c, r.c.cl.l
	r.send(t, 0, wire(toUpstream, text("one")))
	r.send(t, 1, wire(toClient, text("uno")))
	l.prefetch(rs)
	if n := len(l.ahead.ents); n != 2 {
		t.Fatalf("%d sockets read ahead, want 2", n)
	}
	// Bytes that come after the read ahead wait for the next read.
	r.send(t, 0, wire(toUpstream, text("two")))
	c.onTunnel(&c.cl, poller.Readable)
	c.onTunnel(c.up, poller.Readable)
	l.flushPrefetched()
	if got := fmt.Sprint(r.received(t, 1)); got != fmt.Sprint([]frame{text("one")}) {
		t.Fatalf("upstream got %s after the first batch, want only what was read ahead", got)
	}
	if got := fmt.Sprint(r.received(t, 0)); got != fmt.Sprint([]frame{text("uno")}) {
		t.Fatalf("client got %s", got)
	}
	c.onTunnel(&c.cl, poller.Readable) // the next batch: a read of its own
	if got := fmt.Sprint(r.received(t, 1)); got != fmt.Sprint([]frame{text("two")}) {
		t.Fatalf("upstream got %s in the second batch", got)
	}
}

func TestPrefetchNotTakenIsRelayedAtBatchEnd(t *testing.T) {
	r, rs := newPrefetchRig(t)
	c, l := r.c, r.c.cl.l
	r.send(t, 0, wire(toUpstream, text("one")))
	r.send(t, 1, wire(toClient, text("uno")))
	l.prefetch(rs)
	// No pump ran (say each event found its destination full): the batch
	// ends, and the bytes already read go on all the same.
	l.flushPrefetched()
	if len(l.ahead.ents) != 0 {
		t.Fatal("reads ahead kept past the batch")
	}
	if got := fmt.Sprint(r.received(t, 1)); got != fmt.Sprint([]frame{text("one")}) {
		t.Errorf("upstream got %s", got)
	}
	if got := fmt.Sprint(r.received(t, 0)); got != fmt.Sprint([]frame{text("uno")}) {
		t.Errorf("client got %s", got)
	}
	if c.st != stTunnel {
		t.Errorf("state %v after relaying reads ahead", c.st)
	}
}

func TestPrefetchEndOfStreamAndClose(t *testing.T) {
	r, rs := newPrefetchRig(t)
	c, l := r.c, r.c.cl.l
	if err := unix.Shutdown(r.peers[0], unix.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	r.send(t, 1, wire(toClient, text("uno")))
	l.prefetch(rs)
	l.flushPrefetched()
	if c.cl.flags&epEOF == 0 {
		t.Fatal("an end of stream read ahead was not seen")
	}
	// The upstream's half: shut once the client ended (what passes the
	// other way still goes).
	if got := fmt.Sprint(r.received(t, 0)); got != fmt.Sprint([]frame{text("uno")}) {
		t.Errorf("client got %s", got)
	}
	b := make([]byte, 16)
	if n, err := unix.Read(r.peers[1], b); n != 0 || err != nil {
		t.Errorf("upstream read %d, %v after the client's end of stream; want end of stream", n, err)
	}

	// A connection closed between the read ahead and the batch's end:
	// its bytes go with it, and nothing else is touched.
	r2, rs2 := newPrefetchRig(t)
	r2.send(t, 0, wire(toUpstream, text("lost")))
	r2.send(t, 1, wire(toClient, text("lost")))
	l2 := r2.c.cl.l
	l2.prefetch(rs2)
	r2.c.close()
	l2.flushPrefetched()
	if len(l2.ahead.ents) != 0 || r2.c.st != stClosed {
		t.Fatalf("closed connection: %d reads ahead kept, state %v", len(l2.ahead.ents), r2.c.st)
	}
}

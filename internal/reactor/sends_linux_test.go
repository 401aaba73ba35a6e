package reactor

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"wsproxy/internal/sock"
	"wsproxy/internal/testutil"
)

// sendRecorder is a SendOwner that keeps what each Sent call said.
type sendRecorder struct {
	calls int
	rest  []byte
	err   error
}

func (r *sendRecorder) Sent(_ *Socket, rest []byte, err error) {
	r.calls++
	r.rest = append(r.rest, rest...)
	r.err = err
}

// newSends returns a batch with a ring, or skips where this kernel has no
// io_uring for us (the loop then writes directly, which every other test
// covers).
func newSends(t *testing.T) *Sends {
	t.Helper()
	r, err := sock.NewRing(sendsRing)
	if err != nil {
		t.Skipf("no io_uring here (%v): loops write directly", err)
	}
	b := &Sends{ring: r}
	t.Cleanup(b.Close)
	return b
}

// pairSocket returns a Socket on one end of a non-blocking stream pair
// and the other end.
func pairSocket(t *testing.T) (*Socket, int) {
	t.Helper()
	fds, err := testutil.StreamPair(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	s := &Socket{}
	s.SetFD(fds[0])
	return s, fds[1]
}

// drain reads everything waiting on fd.
func drain(t *testing.T, fd int) []byte {
	t.Helper()
	var out []byte
	b := make([]byte, 64<<10)
	for {
		n, err := unix.Read(fd, b)
		if n <= 0 || err != nil {
			return out
		}
		out = append(out, b[:n]...)
	}
}

func TestSendsInOrderOneCallEach(t *testing.T) {
	b := newSends(t)
	const sockets = 5
	var (
		ss    [sockets]*Socket
		peers [sockets]int
		recs  [sockets]sendRecorder
		want  [sockets][]byte
	)
	for i := range ss {
		ss[i], peers[i] = pairSocket(t)
	}
	// Rounds of writes: socket i gets i+1 pieces in a row (the entry
	// grows), then the next socket; the batch is flushed between rounds.
	for round := 0; round < 3; round++ {
		for i := range ss {
			for k := 0; k <= i; k++ {
				p := []byte(fmt.Sprintf("[r%d s%d k%d]", round, i, k))
				if !b.Add(ss[i], p, &recs[i]) {
					t.Fatalf("round %d socket %d piece %d declined", round, i, k)
				}
				want[i] = append(want[i], p...)
			}
		}
		if len(b.ents) != sockets {
			t.Fatalf("round %d: %d entries, want one per socket (%d)", round, len(b.ents), sockets)
		}
		b.Flush()
		if b.Pending() {
			t.Fatal("entries left after Flush")
		}
	}
	for i := range ss {
		if got := drain(t, peers[i]); !bytes.Equal(got, want[i]) {
			t.Errorf("socket %d received %q, want %q", i, got, want[i])
		}
		if r := recs[i]; r.calls != 3 || len(r.rest) != 0 || r.err != nil {
			t.Errorf("socket %d: Sent %d times, rest %d bytes, err %v; want 3, 0, nil", i, r.calls, len(r.rest), r.err)
		}
	}
}

func TestSendsFullBatchFlushes(t *testing.T) {
	b := newSends(t)
	n := b.ring.Cap() + 7
	ss := make([]*Socket, n)
	peers := make([]int, n)
	recs := make([]sendRecorder, n)
	for i := range ss {
		ss[i], peers[i] = pairSocket(t)
		if !b.Add(ss[i], []byte(fmt.Sprint(i)), &recs[i]) {
			t.Fatalf("socket %d declined", i)
		}
	}
	if got := len(b.ents); got != 7 {
		t.Fatalf("%d entries wait after %d adds, want 7 (a full batch goes out)", got, n)
	}
	b.Flush()
	for i := range ss {
		if got := string(drain(t, peers[i])); got != fmt.Sprint(i) || recs[i].calls != 1 {
			t.Fatalf("socket %d received %q after %d Sent calls", i, got, recs[i].calls)
		}
	}
}

func TestSendsRestAndErrors(t *testing.T) {
	b := newSends(t)
	full, fullPeer := pairSocket(t)
	filler := make([]byte, 64<<10)
	for {
		if _, err := unix.Write(full.FD(), filler); errors.Is(err, unix.EAGAIN) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	gone, gonePeer := pairSocket(t)
	unix.Close(gonePeer)
	ok, okPeer := pairSocket(t)

	var rFull, rGone, rOK sendRecorder
	p := []byte("a message that finds no room")
	for _, a := range []struct {
		s *Socket
		r *sendRecorder
	}{{full, &rFull}, {gone, &rGone}, {ok, &rOK}} {
		if !b.Add(a.s, p, a.r) {
			t.Fatal("declined")
		}
	}
	b.Flush()
	if !bytes.Equal(rFull.rest, p) || rFull.err != nil {
		t.Errorf("full socket: rest %q, err %v; want all of it back, no error", rFull.rest, rFull.err)
	}
	if rGone.err == nil || rGone.calls != 1 {
		t.Errorf("socket whose peer closed: err %v after %d calls; want EPIPE", rGone.err, rGone.calls)
	}
	if got := drain(t, okPeer); !bytes.Equal(got, p) || rOK.err != nil || len(rOK.rest) != 0 {
		t.Errorf("the socket after them received %q (err %v): one socket's trouble must not touch another", got, rOK.err)
	}
	drain(t, fullPeer)
}

func TestSendsDeclines(t *testing.T) {
	b := newSends(t)
	s, _ := pairSocket(t)
	var r sendRecorder
	if b.Add(s, make([]byte, sendMax+1), &r) {
		t.Error("a write above sendMax was batched")
	}
	s.Queue([]byte("waiting"))
	if b.Add(s, []byte("x"), &r) {
		t.Error("a write behind queued bytes was batched")
	}
	s.Release()
	b.busy = true
	if b.Add(s, []byte("x"), &r) {
		t.Error("Add during Flush's call-backs was batched")
	}
	b.busy = false

	var none Sends
	if none.Batching() || none.Add(s, []byte("x"), &r) {
		t.Error("a batch without a ring took a write")
	}
	t.Setenv("WSPROXY_IO_URING", "off")
	var l Loop
	l.InitSends()
	if l.Sends.Batching() {
		t.Error("WSPROXY_IO_URING=off left the loop batching")
	}
}

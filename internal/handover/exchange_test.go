package handover

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
	"wsproxy/internal/testutil"

	"golang.org/x/sys/unix"
)

// fakeProxy is a Source and a Sink holding tunnels whose descriptors are
// ends of socketpairs; the test holds the other ends (peers).
type fakeProxy struct {
	mu      sync.Mutex
	ts      []Tunnel
	busy    int // ExportTunnels calls that find every tunnel inside a frame
	exports int
}

func (p *fakeProxy) ExportTunnels(max int) ([]Tunnel, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exports++
	if p.busy > 0 {
		p.busy--
		return nil, len(p.ts)
	}
	n := min(max, len(p.ts))
	out := append([]Tunnel(nil), p.ts[:n]...)
	p.ts = p.ts[n:]
	return out, len(p.ts)
}

func (p *fakeProxy) ImportTunnels(ts []Tunnel) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ts = append(p.ts, ts...)
	return len(ts)
}

func (p *fakeProxy) held() []Tunnel {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Tunnel(nil), p.ts...)
}

// peers are the test's ends of a tunnel's sockets, by tunnel number.
type peers map[string][2]int

// newFakeProxy makes n tunnels, each numbered in its State.Route.
func newFakeProxy(t *testing.T, n int) (*fakeProxy, peers) {
	p, ps := &fakeProxy{}, peers{}
	for i := range n {
		var tn Tunnel
		var mine [2]int
		for side := range 2 {
			fds, err := testutil.StreamPair(false)
			if err != nil {
				t.Fatalf("socketpair: %v", err)
			}
			if side == 0 {
				tn.ClientFD = fds[0]
			} else {
				tn.UpstreamFD = fds[0]
			}
			mine[side] = fds[1]
		}
		tn.Route = fmt.Sprint(i)
		tn.Peer = netip.MustParseAddrPort("192.0.2.1:1000")
		tn.Idle = time.Duration(i) * time.Millisecond
		p.ts = append(p.ts, tn)
		ps[tn.Route] = mine
	}
	t.Cleanup(func() {
		for _, tn := range p.held() {
			tn.Close()
		}
		for _, m := range ps {
			unix.Close(m[0])
			unix.Close(m[1])
		}
	})
	return p, ps
}

// checkHeld checks that every tunnel p holds is the one its State names:
// bytes written by the test's peers come out of p's descriptors.
func checkHeld(t *testing.T, p *fakeProxy, ps peers) {
	t.Helper()
	for _, tn := range p.held() {
		m := ps[tn.Route]
		for side, fd := range [2]int{tn.ClientFD, tn.UpstreamFD} {
			msg := []byte(tn.Route + "/" + fmt.Sprint(side))
			if _, err := unix.Write(m[side], msg); err != nil {
				t.Fatalf("tunnel %s: write: %v", tn.Route, err)
			}
			got := make([]byte, 64)
			n, err := unix.Read(fd, got)
			if err != nil || string(got[:n]) != string(msg) {
				t.Fatalf("tunnel %s side %d: got %q, %v; want %q", tn.Route, side, got[:n], err, msg)
			}
		}
	}
}

func pair(t *testing.T) (*Conn, *Conn) {
	a, b, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	ca, err := NewConn(a)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := NewConn(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ca.Close(); cb.Close() })
	ca.SetDeadline(time.Now().Add(20 * time.Second))
	cb.SetDeadline(time.Now().Add(20 * time.Second))
	return ca, cb
}

func TestExchange(t *testing.T) {
	tests := []struct {
		name       string
		n, room    int // tunnels; descriptors the receiver may open (-1: plenty)
		busy       int
		wantSent   Sent
		wantRecv   Received
		wantKeptBy int // tunnels the sender still holds
	}{
		{name: "all", n: 300, room: -1, wantSent: Sent{HandedOver: 300}, wantRecv: Received{Imported: 300}},
		{name: "inside a frame at first", n: 10, room: -1, busy: 3, wantSent: Sent{HandedOver: 10}, wantRecv: Received{Imported: 10}},
		{name: "receiver full", n: 300, room: 2 * 150,
			wantSent: Sent{HandedOver: 150, Refused: 2*MaxBatch - 150, Waiting: 300 - 2*MaxBatch},
			wantRecv: Received{Imported: 150, Refused: 2*MaxBatch - 150}, wantKeptBy: 150},
		{name: "no room", n: 5, room: 0, wantSent: Sent{Refused: 5}, wantRecv: Received{Refused: 5}, wantKeptBy: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, ps := newFakeProxy(t, tc.n)
			src.busy = tc.busy
			sink := &fakeProxy{}
			t.Cleanup(func() {
				for _, tn := range sink.held() {
					tn.Close()
				}
			})
			cs, cr := pair(t)
			used := 0
			room := func() int {
				if tc.room < 0 {
					return 1 << 20
				}
				return tc.room - used
			}
			type result struct {
				r   Received
				err error
			}
			done := make(chan result)
			go func() {
				r, err := Receive(cr, sinkFunc(func(ts []Tunnel) int { used += 2 * len(ts); return sink.ImportTunnels(ts) }), room)
				done <- result{r, err}
			}()
			sent, err := Send(cs, src, 10*time.Second)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			rr := <-done
			if rr.err != nil {
				t.Fatalf("Receive: %v", rr.err)
			}
			if sent != tc.wantSent {
				t.Errorf("Send: got %+v; want %+v", sent, tc.wantSent)
			}
			if rr.r != tc.wantRecv {
				t.Errorf("Receive: got %+v; want %+v", rr.r, tc.wantRecv)
			}
			if got := len(src.held()); got != tc.wantKeptBy {
				t.Errorf("sender holds %d tunnels; want %d", got, tc.wantKeptBy)
			}
			if got, want := len(sink.held()), tc.wantRecv.Imported; got != want {
				t.Errorf("receiver holds %d tunnels; want %d", got, want)
			}
			checkHeld(t, src, ps)
			checkHeld(t, sink, ps)
			checkSoleOwner(t, sink, ps)
		})
	}
}

// checkSoleOwner checks that the sender closed its copies of what it
// handed over: once the receiver closes a tunnel's client socket, the
// test's peer reads end of stream.
func checkSoleOwner(t *testing.T, sink *fakeProxy, ps peers) {
	t.Helper()
	ts := sink.held()
	if len(ts) == 0 {
		return
	}
	tn := ts[0]
	unix.Close(tn.ClientFD)
	sink.mu.Lock()
	sink.ts[0].ClientFD = -1
	sink.mu.Unlock()
	m := ps[tn.Route][0]
	unix.SetNonblock(m, false)
	tv := unix.Timeval{Sec: 10}
	unix.SetsockoptTimeval(m, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	var b [8]byte
	if n, err := unix.Read(m, b[:]); n != 0 || err != nil {
		t.Fatalf("tunnel %s: after the receiver closed its client socket the peer read %d bytes, %v; want end of stream", tn.Route, n, err)
	}
}

type sinkFunc func([]Tunnel) int

func (f sinkFunc) ImportTunnels(ts []Tunnel) int { return f(ts) }

// TestReceiverFails: a receiver that goes away without acknowledging a
// batch leaves every tunnel with the sender, working.
func TestReceiverFails(t *testing.T) {
	src, ps := newFakeProxy(t, 200)
	cs, cr := pair(t)
	go func() {
		_, _, fds, _ := cr.recv()
		closeAll(fds)
		cr.Close()
	}()
	sent, err := Send(cs, src, 10*time.Second)
	if err == nil || sent.HandedOver != 0 {
		t.Fatalf("Send: got %+v, %v; want nothing handed over and an error", sent, err)
	}
	if got := len(src.held()); got != 200 {
		t.Fatalf("sender holds %d tunnels; want 200", got)
	}
	checkHeld(t, src, ps)
}

// TestReceiveErrors: the receiver's answers to what a sender should not
// send, and to a sender that goes away.
func TestReceiveErrors(t *testing.T) {
	tests := []struct {
		name string
		msg  []byte // nil: the sender closes
		want error
	}{
		{"closed", nil, nil},
		{"ack instead of a batch", []byte{msgAck, 0}, ErrMessage},
		{"malformed batch", []byte{msgBatch, 1, 5, 1}, ErrBatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, cr := pair(t)
			if tc.msg == nil {
				cs.Close()
			} else if _, err := cs.uc.Write(tc.msg); err != nil {
				t.Fatal(err)
			}
			_, err := Receive(cr, sinkFunc(func(ts []Tunnel) int { t.Error("imported"); return 0 }), func() int { return 100 })
			if err == nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("Receive: got %v; want %v", err, tc.want)
			}
		})
	}
}

// FuzzDecodeBatch: decodeBatch never panics, and takes at most one tunnel
// per two descriptors.
func FuzzDecodeBatch(f *testing.F) {
	for _, tc := range states {
		b := append([]byte{1}, byte(len(tc.st.Append(nil))))
		if len(tc.st.Append(nil)) < 128 {
			f.Add(append(b, tc.st.Append(nil)...), 2)
		}
	}
	f.Add([]byte{0}, 0)
	f.Fuzz(func(t *testing.T, p []byte, nfds int) {
		nfds = min(max(nfds, 0), 2*MaxBatch+1)
		fds := make([]int, nfds)
		for i := range fds {
			fds[i] = -1 // closing them is harmless
		}
		ts, err := decodeBatch(p, fds)
		if err == nil && len(ts) > nfds/2 {
			t.Fatalf("%d tunnels from %d descriptors", len(ts), nfds)
		}
	})
}

// TestRoom: every descriptor the process opens is one fewer for tunnels.
func TestRoom(t *testing.T) {
	before := Room(0)
	var fds [10][2]int
	for i := range fds {
		if err := unix.Pipe(fds[i][:]); err != nil {
			t.Fatal(err)
		}
	}
	after := Room(0)
	for i := range fds {
		unix.Close(fds[i][0])
		unix.Close(fds[i][1])
	}
	if before-after != 20 {
		t.Fatalf("Room: %d before opening 20 descriptors, %d after; want 20 fewer", before, after)
	}
	if got := Room(100); got != Room(0)-100 {
		t.Fatalf("Room(100): got %d; want Room(0) - 100 = %d", got, Room(0)-100)
	}
}

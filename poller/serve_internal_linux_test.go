package poller

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/internal/testutil"
)

// pollerPair returns a Poller and a connected pair of non-blocking stream
// sockets, all closed when the test ends.
func pollerPair(t *testing.T) (*Poller, [2]int) {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	pair, err := testutil.StreamPair(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(pair[0]); unix.Close(pair[1]) })
	return p, pair
}

// TestServePingPong: one byte at a time, each sent only once the last was
// handled, as a sparse load's messages come. Every byte arrives, in order.
// A handler that declares its events drained costs one look per wake-up
// (the one that collects the event); one that does not costs a second
// look before each park, as Wait does. Counted, not timed: the bound for
// the drained handler is one look per byte plus a quarter (Serve's first
// look, and room for a wake-up the runtime reports for an edge already
// collected), where a look before each park would be two per byte; the
// other's is two per byte, with the same room.
func TestServePingPong(t *testing.T) {
	const n = 200
	for _, tc := range []struct {
		name     string
		drained  bool
		maxLooks int
	}{
		{"drained: one look per wake-up", true, n + n/4 + 1},
		{"not drained: a look before each park", false, 2*n + n/4 + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, pair := pollerPair(t)
			if err := p.Add(pair[0], Readable); err != nil {
				t.Fatal(err)
			}
			ack := make(chan struct{}, 1)
			go func() {
				for i := range n {
					if _, err := unix.Write(pair[1], []byte{byte(i)}); err != nil {
						t.Error(err)
						return
					}
					<-ack
				}
			}()
			var got []byte
			var buf [16]byte
			fn := func(fd int, ev Event) {
				m, err := unix.Read(fd, buf[:])
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				got = append(got, buf[:m]...)
				if tc.drained && m < len(buf) {
					p.Drained()
				}
				ack <- struct{}{}
			}
			between := func() (time.Duration, bool) { return -1, len(got) >= n }
			before := p.polls
			if err := p.Serve(between, fn); err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("got %d bytes, want %d", len(got), n)
			}
			for i, b := range got {
				if b != byte(i) {
					t.Fatalf("byte %d is %d, want %d", i, b, byte(i))
				}
			}
			looks := p.polls - before
			t.Logf("%d looks for %d wake-ups", looks, n)
			if looks > tc.maxLooks {
				t.Errorf("%d looks for %d bytes; want at most %d", looks, n, tc.maxLooks)
			}
			if looks < n {
				t.Errorf("%d looks for %d bytes: fewer than one per wake-up", looks, n)
			}
		})
	}
}

// TestServeUndrainedLooksAgain: a level-triggered descriptor left ready by
// a handler that did not say Drained (it reads one byte of ten per event)
// is not a new edge, so nothing would wake a parked loop for it: Serve
// looks again before parking, and every byte is handled.
func TestServeUndrainedLooksAgain(t *testing.T) {
	p, pair := pollerPair(t)
	if err := p.Add(pair[0], Readable); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(pair[1], []byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	fn := func(fd int, ev Event) {
		var b [1]byte
		if m, err := unix.Read(fd, b[:]); err == nil {
			got = append(got, b[:m]...)
		}
	}
	if err := p.Serve(func() (time.Duration, bool) { return -1, len(got) == 10 }, fn); err != nil {
		t.Fatal(err)
	}
	if string(got) != "0123456789" {
		t.Errorf("got %q", got)
	}
}

// TestServeEdgeDuringBatch: an event that comes while a batch is handled,
// after the look that collected it, is not lost when the loop waits again
// without a look: the handler of the first socket makes the second
// readable and says Drained; Serve must still see the second.
func TestServeEdgeDuringBatch(t *testing.T) {
	p, a := pollerPair(t)
	b, err := testutil.StreamPair(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(b[0]); unix.Close(b[1]) })
	for _, fd := range []int{a[0], b[0]} {
		if err := p.Add(fd, Readable); err != nil {
			t.Fatal(err)
		}
	}
	const rounds = 100
	seen := 0
	fn := func(fd int, ev Event) {
		var buf [8]byte
		if _, err := unix.Read(fd, buf[:]); err != nil {
			t.Errorf("read %d: %v", fd, err)
			return
		}
		p.Drained()
		switch fd {
		case a[0]:
			unix.Write(b[1], []byte{1}) // b[0] turns readable now
		case b[0]:
			if seen++; seen < rounds {
				unix.Write(a[1], []byte{1})
			}
		}
	}
	if _, err := unix.Write(a[1], []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := p.Serve(func() (time.Duration, bool) { return -1, seen == rounds }, fn); err != nil {
		t.Fatal(err)
	}
}

// TestServeTimeoutsAndStop: a wait with a deadline ends when it passes
// (between runs without events, as a loop's timers need), a zero timeout
// looks without waiting, and a Wake from another goroutine ends a wait
// without a deadline so that between can report stop.
func TestServeTimeoutsAndStop(t *testing.T) {
	p, _ := pollerPair(t)
	var stop atomic.Bool
	calls := 0
	between := func() (time.Duration, bool) {
		calls++
		switch {
		case stop.Load():
			return 0, true
		case calls <= 3:
			return time.Millisecond, false // three waits that end by their deadline
		case calls <= 5:
			return 0, false // two looks
		case calls == 6:
			go func() { stop.Store(true); p.Wake() }()
		}
		return -1, false
	}
	if err := p.Serve(between, func(int, Event) { t.Error("an event with nothing registered") }); err != nil {
		t.Fatal(err)
	}
	if calls < 7 {
		t.Errorf("between ran %d times; want at least 7", calls)
	}
}

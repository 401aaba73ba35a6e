package poller_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/poller"
)

func newPoller(t testing.TB) *poller.Poller {
	t.Helper()
	p, err := poller.New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// socketPair returns a connected pair of non-blocking stream sockets,
// closed at cleanup.
func socketPair(t testing.TB) (a, b int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	t.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	for _, fd := range fds {
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatalf("set non-blocking: %v", err)
		}
	}
	return fds[0], fds[1]
}

// collect runs one Wait and returns what it reported for fd (0 if nothing).
func collect(t *testing.T, p *poller.Poller, fd int, timeout time.Duration) (poller.Event, bool) {
	t.Helper()
	var got poller.Event
	woke, err := p.Wait(timeout, func(f int, ev poller.Event) {
		if f == fd {
			got |= ev
		}
	})
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return got, woke
}

func TestReadiness(t *testing.T) {
	tests := []struct {
		name     string
		interest poller.Event
		setup    func(t *testing.T, a, b int) // acts on the peer b of watched a
		modify   *poller.Event                // applied after one Wait, before the checked one
		want     poller.Event                 // checked with mask below
		mask     poller.Event
	}{
		{
			name:     "readable after write",
			interest: poller.Readable,
			setup:    func(t *testing.T, a, b int) { write(t, b, "x") },
			want:     poller.Readable,
			mask:     poller.Readable | poller.Writable | poller.Hangup,
		},
		{
			name:     "nothing to read",
			interest: poller.Readable,
			want:     0,
			mask:     poller.Readable | poller.Writable | poller.Hangup,
		},
		{
			name:     "writable",
			interest: poller.Writable,
			want:     poller.Writable,
			mask:     poller.Readable | poller.Writable | poller.Hangup,
		},
		{
			name:     "interest 0 ignores data",
			interest: 0,
			setup:    func(t *testing.T, a, b int) { write(t, b, "x") },
			want:     0,
			mask:     poller.Readable | poller.Writable | poller.Hangup,
		},
		{
			name:     "interest 0 reports full hangup",
			interest: 0,
			setup:    func(t *testing.T, a, b int) { unix.Shutdown(b, unix.SHUT_RDWR) },
			want:     poller.Hangup,
			mask:     poller.Readable | poller.Writable | poller.Hangup,
		},
		{
			name:     "readable and hangup on close with pending data",
			interest: poller.Readable,
			setup: func(t *testing.T, a, b int) {
				write(t, b, "bye")
				unix.Shutdown(b, unix.SHUT_WR)
			},
			want: poller.Readable | poller.Hangup,
			mask: poller.Readable | poller.Hangup,
		},
		{
			name:     "modify drops readable",
			interest: poller.Readable,
			setup:    func(t *testing.T, a, b int) { write(t, b, "x") },
			modify:   ev(0),
			want:     0,
			mask:     poller.Readable | poller.Writable | poller.Hangup,
		},
		{
			name:     "modify adds writable",
			interest: poller.Readable,
			setup:    func(t *testing.T, a, b int) { write(t, b, "x") },
			modify:   ev(poller.Readable | poller.Writable),
			want:     poller.Readable | poller.Writable,
			mask:     poller.Readable | poller.Writable | poller.Hangup,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(t)
			a, b := socketPair(t)
			if err := p.Add(a, tt.interest); err != nil {
				t.Fatalf("Add: %v", err)
			}
			if tt.setup != nil {
				tt.setup(t, a, b)
			}
			if tt.modify != nil {
				// Level-triggered: the first Wait does not consume readiness.
				collect(t, p, a, 0)
				if err := p.Modify(a, *tt.modify); err != nil {
					t.Fatalf("Modify: %v", err)
				}
			}
			got, _ := collect(t, p, a, 0)
			if got&tt.mask != tt.want {
				t.Errorf("events = %v; want %v", got&tt.mask, tt.want)
			}
		})
	}
}

func ev(e poller.Event) *poller.Event { return &e }

func write(t *testing.T, fd int, s string) {
	t.Helper()
	if _, err := unix.Write(fd, []byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func TestLevelTriggered(t *testing.T) {
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, poller.Readable); err != nil {
		t.Fatal(err)
	}
	write(t, b, "hello")
	for i := range 3 {
		if got, _ := collect(t, p, a, 0); got&poller.Readable == 0 {
			t.Fatalf("Wait #%d: events = %v; want Readable while unread", i, got)
		}
	}
	var buf [16]byte
	unix.Read(a, buf[:])
	if got, _ := collect(t, p, a, 0); got&poller.Readable != 0 {
		t.Errorf("after read: events = %v; want no Readable", got)
	}
}

func TestDelete(t *testing.T) {
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, poller.Readable|poller.Writable); err != nil {
		t.Fatal(err)
	}
	write(t, b, "x")
	if err := p.Delete(a); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if got, _ := collect(t, p, a, 0); got != 0 {
		t.Errorf("after Delete: events = %v; want none", got)
	}
	if err := p.Modify(a, poller.Readable); err == nil {
		t.Errorf("Modify after Delete: got nil error; want one")
	}
}

func TestWakeFromOtherGoroutine(t *testing.T) {
	p := newPoller(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := p.Wake(); err != nil {
			t.Errorf("Wake: %v", err)
		}
	}()
	// Blocks forever unless the Wake arrives (before or during Wait).
	woke, err := p.Wait(-1, func(fd int, ev poller.Event) {
		t.Errorf("fn called for fd %d (%v); want only the internal wake-up", fd, ev)
	})
	wg.Wait()
	if err != nil || !woke {
		t.Fatalf("Wait = (%v, %v); want (true, nil)", woke, err)
	}
	if woke, _ := p.Wait(0, func(int, poller.Event) {}); woke {
		t.Errorf("second Wait: woke = true; want the wake-up consumed")
	}
}

func TestWakeCoalesces(t *testing.T) {
	p := newPoller(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10000 {
				p.Wake()
			}
		}()
	}
	wg.Wait()
	if woke, _ := p.Wait(0, func(int, poller.Event) {}); !woke {
		t.Fatalf("Wait after Wakes: woke = false; want true")
	}
	if woke, _ := p.Wait(0, func(int, poller.Event) {}); woke {
		t.Errorf("second Wait: woke = true; want one wake-up for the whole burst")
	}
	// And the next Wake after draining is not swallowed.
	p.Wake()
	if woke, _ := p.Wait(0, func(int, poller.Event) {}); !woke {
		t.Errorf("Wait after a fresh Wake: woke = false; want true")
	}
}

func TestWaitTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
	}{
		{"poll", 0},
		{"sub-millisecond", 300 * time.Microsecond},
		{"20ms", 20 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPoller(t)
			start := time.Now()
			woke, err := p.Wait(tt.timeout, func(int, poller.Event) {})
			if err != nil || woke {
				t.Fatalf("Wait = (%v, %v); want (false, nil)", woke, err)
			}
			if d := time.Since(start); d < tt.timeout {
				t.Errorf("Wait returned after %v; want at least %v", d, tt.timeout)
			}
		})
	}
}

func TestClosed(t *testing.T) {
	p, err := poller.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := p.Wait(0, func(int, poller.Event) {}); !errors.Is(err, poller.ErrClosed) {
		t.Errorf("Wait after Close: err = %v; want ErrClosed", err)
	}
	if err := p.Wake(); err != nil && !errors.Is(err, poller.ErrClosed) {
		t.Errorf("Wake after Close: err = %v; want nil or ErrClosed", err)
	}
}

func TestEventString(t *testing.T) {
	tests := []struct {
		ev   poller.Event
		want string
	}{
		{0, "0"},
		{poller.Readable, "Readable"},
		{poller.Readable | poller.Hangup, "Readable|Hangup"},
		{poller.Error | 1<<8, "Error|0x100"},
	}
	for _, tt := range tests {
		if got := tt.ev.String(); got != tt.want {
			t.Errorf("Event(%#x).String() = %q; want %q", uint32(tt.ev), got, tt.want)
		}
	}
}

func BenchmarkWait(b *testing.B) {
	p := newPoller(b)
	fa, fb := socketPair(b)
	if err := p.Add(fa, poller.Readable); err != nil {
		b.Fatal(err)
	}
	unix.Write(fb, []byte("x"))
	n := 0
	fn := func(fd int, ev poller.Event) { n++ }
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Wait(0, fn); err != nil {
			b.Fatal(err)
		}
	}
	if n == 0 {
		b.Fatal("no events reported")
	}
}

// TestWaitWakesOnDescriptor: a Wait that blocks forever returns when a
// descriptor becomes ready from another goroutine, before or while it
// waits, round after round (on Linux the wait parks in the runtime's
// netpoller, whose readiness mark may be left over from an earlier round).
func TestWaitWakesOnDescriptor(t *testing.T) {
	p := newPoller(t)
	a, b := socketPair(t)
	if err := p.Add(a, poller.Readable); err != nil {
		t.Fatal(err)
	}
	write := make(chan struct{})
	done := make(chan struct{})
	t.Cleanup(func() { close(write); <-done })
	go func() {
		defer close(done)
		for range write {
			if _, err := unix.Write(b, []byte{1}); err != nil {
				t.Errorf("write: %v", err)
			}
		}
	}()
	buf := make([]byte, 16)
	for round := range 200 {
		write <- struct{}{}
		got := false
		for !got { // a stale readiness mark may end a Wait with nothing
			ev, woke := collect(t, p, a, -1)
			if woke {
				t.Fatalf("round %d: woke without a Wake", round)
			}
			got = ev&poller.Readable != 0
		}
		if n, err := unix.Read(a, buf); n != 1 || err != nil {
			t.Fatalf("round %d: read %d, %v; want the 1 byte written", round, n, err)
		}
	}
}

package poller

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestKeepDeadline(t *testing.T) {
	at := time.Unix(1000, 0)
	for _, tc := range []struct {
		name      string
		set, want time.Time
		keep      bool
	}{
		{"none, none", time.Time{}, time.Time{}, true},
		{"none set, one wanted", time.Time{}, at, false},
		{"one set, none wanted", at, time.Time{}, false},
		{"same", at, at, true},
		{"set a little earlier", at, at.Add(300 * time.Microsecond), true},
		{"set a little later", at.Add(300 * time.Microsecond), at, true},
		{"set a tick earlier", at, at.Add(100 * time.Millisecond), false},
		{"set a tick later", at.Add(100 * time.Millisecond), at, false},
		{"set the slack earlier", at, at.Add(deadlineSlack), false},
	} {
		if got := keepDeadline(tc.set, tc.want); got != tc.keep {
			t.Errorf("%s: keepDeadline = %v, want %v", tc.name, got, tc.keep)
		}
	}
}

// TestParkAllocatesNothing: an idle loop's wait, parked in the runtime's
// netpoller with a deadline, allocates nothing once the parker exists,
// whether the deadline is kept or moved.
func TestParkAllocatesNothing(t *testing.T) {
	p, err := New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	fn := func(int, Event) {}
	timeout := time.Millisecond
	wait := func() {
		if _, err := p.Wait(timeout, fn); err != nil {
			t.Fatal(err)
		}
		timeout = 3*time.Millisecond - timeout // 1 ms, 2 ms, 1 ms, ...: moved every time
	}
	if p.noPark {
		t.Fatal("the poller does not park")
	}
	if a := testing.AllocsPerRun(20, wait); a != 0 {
		t.Errorf("%v allocations per parked wait; want 0", a)
	}
	if p.park == nil {
		t.Fatal("no parker after parked waits")
	}
}

// TestIdleWaitLooksOnce: a loop that parked in its last Wait parks again
// without a look of its own (parkWait's first look is the only one before
// the park), so a wake-up of a sparse load costs one epoll_pwait less; a
// loop that found events at once looks first, without parking, as before;
// and no event is missed either way. It counts Wait's own looks, not
// parkWait's: a parked wait may be woken for nothing (a readiness edge the
// runtime had not collected yet) and look again.
func TestIdleWaitLooksOnce(t *testing.T) {
	p, pair := pollerPair(t)
	if err := p.Add(pair[0], Readable); err != nil {
		t.Fatal(err)
	}
	send := func() {
		if _, err := unix.Write(pair[1], []byte{1}); err != nil {
			t.Error(err)
		}
	}
	steps := []struct {
		name      string
		send      bool // write a byte to the other end before the wait
		sendLater bool // and while the wait is parked (or about to park)
		read      bool // read what came, after the wait
		looks     int  // Wait's own looks
		ready     bool
		idle      bool
	}{
		{name: "first wait, nothing comes", looks: 1, idle: true},
		{name: "idle, nothing comes", looks: 0, idle: true},
		{name: "idle, an event while parked", sendLater: true, read: true, looks: 0, ready: true},
		{name: "idle, an event before the wait", send: true, looks: 0, ready: true, idle: false},
		{name: "busy, the event still ready", read: true, looks: 1, ready: true, idle: false},
		{name: "busy, nothing comes", looks: 1, idle: true},
		{name: "idle again, an event before the wait", send: true, read: true, looks: 0, ready: true, idle: false},
	}
	for _, s := range steps {
		if s.send {
			send()
		}
		timeout := 20 * time.Millisecond
		if s.sendLater {
			timeout = -1 // no deadline: only the event ends this wait
			time.AfterFunc(5*time.Millisecond, send)
		}
		var got []int
		before := p.looks
		if _, err := p.Wait(timeout, func(fd int, ev Event) { got = append(got, fd) }); err != nil {
			t.Fatal(err)
		}
		if ready := len(got) == 1 && got[0] == pair[0]; ready != s.ready {
			t.Errorf("%s: events on %v; want the socket ready: %v", s.name, got, s.ready)
		}
		if s.read {
			var b [8]byte
			if _, err := unix.Read(pair[0], b[:]); err != nil {
				t.Fatal(err)
			}
		}
		if looks := p.looks - before; looks != s.looks {
			t.Errorf("%s: Wait looked %d times before parking; want %d", s.name, looks, s.looks)
		}
		// Woken by the event, the loop was idle; a busy machine may run
		// the write before the park, and then parkWait's first look
		// found it: not idle. Either is right.
		if !s.sendLater && p.idle != s.idle {
			t.Errorf("%s: idle %v after the wait; want %v", s.name, p.idle, s.idle)
		}
	}
}

package poller

import (
	"testing"
	"time"
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

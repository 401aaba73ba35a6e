package memrelease

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReleaser: memory is given back once a burst of new connections is
// over (a check with no new connection and under Busy of a CPU used), not
// during it, not while the process is busy relaying, not for fewer
// connections than a burst, and not twice within the gap.
func TestReleaser(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	frees := 0
	r := &Releaser{Burst: 100, Gap: 30 * time.Second, Busy: 0.1, Free: func() { frees++ }}
	steps := []struct {
		at       time.Duration // since t0
		accepted uint64
		cpu      time.Duration // the process's CPU time so far
		want     bool
		why      string
	}{
		{0, 0, 0, false, "nothing accepted"},
		{5 * time.Second, 60, time.Second, false, "connections arriving"},
		{10 * time.Second, 60, time.Second, false, "quiet, but 60 is not a burst"},
		{15 * time.Second, 150, 2 * time.Second, false, "arriving again"},
		{20 * time.Second, 150, 2 * time.Second, true, "quiet after 150: give back"},
		{25 * time.Second, 150, 2 * time.Second, false, "nothing new since"},
		{30 * time.Second, 400, 3 * time.Second, false, "a second burst arriving"},
		{35 * time.Second, 400, 3 * time.Second, false, "quiet, but within 30s of the last release"},
		{50 * time.Second, 400, 5 * time.Second, false, "no connection, but 0.13 CPU: busy relaying"},
		{55 * time.Second, 400, 5500 * time.Millisecond, false, "0.1 CPU is busy too"},
		{60 * time.Second, 400, 5900 * time.Millisecond, true, "0.08 CPU: quiet, and the gap has passed"},
		{65 * time.Second, 450, 6 * time.Second, false, "a few more"},
		{100 * time.Second, 450, 6 * time.Second, false, "quiet, but 50 since the last release is no burst"},
	}
	want := 0
	for _, s := range steps {
		if got := r.Check(s.accepted, s.cpu, t0.Add(s.at)); got != s.want {
			t.Errorf("at %v with %d accepted, %v of CPU: released %v; want %v (%s)", s.at, s.accepted, s.cpu, got, s.want, s.why)
		}
		if s.want {
			want++
		}
	}
	if frees != want {
		t.Errorf("free called %d times; want %d", frees, want)
	}
}

// TestRun: Run gives memory back after a burst, reports it, and stops
// when done is closed.
func TestRun(t *testing.T) {
	freed := make(chan struct{}, 1)
	r := &Releaser{Burst: 3, Gap: time.Hour, Free: func() { freed <- struct{}{} }, CPU: func() time.Duration { return 0 }}
	done, stopped := make(chan struct{}), make(chan struct{})
	var accepted atomic.Uint64
	var releases atomic.Int64
	go func() { r.Run(time.Millisecond, done, accepted.Load, func() { releases.Add(1) }); close(stopped) }()
	accepted.Add(5)
	select {
	case <-freed:
	case <-time.After(5 * time.Second):
		t.Fatal("no release after a burst of 5 with a burst size of 3")
	}
	close(done)
	<-stopped // the release was counted before Run looked at done again
	if n := releases.Load(); n != 1 {
		t.Errorf("releases counted: %d; want 1", n)
	}
}

// TestMeter: an interval is quiet when the process used less than Busy of
// a CPU in it, whatever its length; each call begins the next interval.
func TestMeter(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	steps := []struct {
		at   time.Duration // since t0
		cpu  time.Duration // the process's CPU time so far
		want bool
		why  string
	}{
		{5 * time.Second, 100 * time.Millisecond, true, "0.02 CPU"},
		{10 * time.Second, 350 * time.Millisecond, false, "0.05 CPU is busy"},
		{15 * time.Second, 590 * time.Millisecond, true, "0.048 CPU"},
		{16 * time.Second, 700 * time.Millisecond, false, "0.11 CPU over a shorter interval"},
		{26 * time.Second, 1100 * time.Millisecond, true, "0.04 CPU over a longer one"},
		{31 * time.Second, 1100 * time.Millisecond, true, "no CPU at all"},
		{36 * time.Second, 6100 * time.Millisecond, false, "a whole CPU"},
	}
	var m Meter
	m.Start(0, t0)
	for _, s := range steps {
		if got := m.Quiet(s.cpu, t0.Add(s.at)); got != s.want {
			t.Errorf("at %v with %v of CPU: quiet %v; want %v (%s)", s.at, s.cpu, got, s.want, s.why)
		}
	}
	busier := Meter{Busy: 0.5}
	busier.Start(0, t0)
	if !busier.Quiet(2*time.Second, t0.Add(5*time.Second)) {
		t.Error("0.4 CPU with Busy 0.5: busy; want quiet")
	}
}

// TestWaitQuiet: WaitQuiet returns true once an interval was quiet (this
// test's process only waits, so one is); a closed done ends the wait with
// false.
func TestWaitQuiet(t *testing.T) {
	if !WaitQuiet(time.Millisecond*50, nil) {
		t.Error("WaitQuiet without done reported done")
	}
	done := make(chan struct{})
	close(done)
	if WaitQuiet(time.Hour, done) {
		t.Error("WaitQuiet with done closed reported quiet")
	}
}

// TestIdle: after each check, and after the release it made, Idle hears
// whether the check was quiet: no connection accepted since the last one
// and under Busy of a CPU used.
func TestIdle(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	var events []string
	r := &Releaser{Burst: 10, Gap: time.Hour, Busy: 0.1, Free: func() {}}
	r.Idle = func(quiet bool) { events = append(events, map[bool]string{true: "quiet", false: "busy"}[quiet]) }
	released := func() { events = append(events, "released") }
	r.meter.Start(0, t0)
	for i, s := range []struct {
		accepted uint64
		cpu      time.Duration
	}{
		{0, 0},                       // nothing at all: quiet
		{20, 100 * time.Millisecond}, // connections arriving
		{20, 200 * time.Millisecond}, // 0.02 CPU, none new: quiet, and the burst of 20 is over
		{20, 900 * time.Millisecond}, // 0.14 CPU: busy relaying
		{20, 900 * time.Millisecond}, // quiet again
	} {
		r.tick(s.accepted, s.cpu, t0.Add(time.Duration(i+1)*5*time.Second), released)
	}
	want := "quiet busy released quiet busy quiet"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("events %q; want %q", got, want)
	}
}

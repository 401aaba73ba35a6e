package procgov

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestNext(t *testing.T) {
	p := Policy{Max: 3, Up: 0.6, Down: 0.35, Hold: 3}
	for _, tc := range []struct {
		name             string
		cur, quiet       int
		used             float64
		wantN, wantQuiet int
	}{
		{"one P, quiet, stays", 1, 0, 0.1, 1, 0},
		{"one P, under Up, stays", 1, 0, 0.59, 1, 0},
		{"one P, at Up, all Ps", 1, 0, 0.6, 3, 0},
		{"one P, saturated, all Ps", 1, 0, 1.0, 3, 0},
		{"all Ps, busy, stays", 3, 0, 1.5, 3, 0},
		{"all Ps, between Down and Up, stays and resets", 3, 2, 0.4, 3, 0},
		{"all Ps, quiet once, counts", 3, 0, 0.2, 3, 1},
		{"all Ps, quiet twice, counts", 3, 1, 0.2, 3, 2},
		{"all Ps, quiet Hold times, one P", 3, 2, 0.2, 1, 0},
		{"all Ps, idle, counts", 3, 0, 0, 3, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, q := p.Next(tc.cur, tc.used, tc.quiet)
			if n != tc.wantN || q != tc.wantQuiet {
				t.Errorf("Next(%d, %v, %d) = %d, %d; want %d, %d", tc.cur, tc.used, tc.quiet, n, q, tc.wantN, tc.wantQuiet)
			}
		})
	}
	if n, _ := (Policy{Max: 1, Up: 0.6}).Next(1, 5, 0); n != 1 {
		t.Errorf("Max 1: Next = %d, want 1", n)
	}
}

// runScript drives Run with made-up ticks and CPU times: each tick is
// 100 ms after the last, and cpu reports the CPU (in CPUs) the script
// says was used in it. It returns what Run returned.
func runScript(p Policy, script []float64, set func(int), pace func(bool)) int {
	// cpu's k-th call: Run's start and first tick read 0, then one
	// interval's worth per tick.
	cum := []time.Duration{0, 0}
	for _, used := range script {
		cum = append(cum, cum[len(cum)-1]+time.Duration(used*float64(100*time.Millisecond)))
	}
	calls := 0
	cpu := func() time.Duration { calls++; return cum[calls-1] }

	ticks := make(chan time.Time)
	done := make(chan int)
	go func() { done <- Run(p, ticks, cpu, set, pace, nil) }()
	at := time.Unix(1000, 0)
	for range len(script) + 1 { // the first tick only takes the first sample
		ticks <- at
		at = at.Add(100 * time.Millisecond)
	}
	close(ticks)
	return <-done
}

// TestRun: the P counts set must follow the policy, and only on changes.
func TestRun(t *testing.T) {
	p := Policy{Max: 3, Up: 0.6, Down: 0.35, Hold: 2}
	script := []float64{0.1, 0.1, 0.0, 0.2, 0.9, 0.5, 0.4, 0.1, 0.1, 0.05}
	// What Run must do: start at 3; quiet, quiet -> 1; stays 1 (0.0, 0.2);
	// 0.9 -> 3; 0.5, 0.4 busy enough; 0.1, 0.1 -> 1; 0.05 stays.
	want := []int{1, 3, 1}
	var set []int
	last := runScript(p, script, func(n int) { set = append(set, n) }, nil)
	if len(set) != len(want) {
		t.Fatalf("set calls %v, want %v", set, want)
	}
	for i := range want {
		if set[i] != want[i] {
			t.Fatalf("set calls %v, want %v", set, want)
		}
	}
	if last != 1 {
		t.Errorf("Run returned %d, want 1", last)
	}
}

// TestRunPace: after each sample Run says whether the process is idle
// (one P, under Policy.Idle), which Start uses to sample it less often.
func TestRunPace(t *testing.T) {
	p := Policy{Max: 3, Up: 0.85, Down: 0.7, Hold: 1, Idle: 0.02}
	script := []float64{0.001, 0.01, 0.3, 0.9, 0.001, 0.001, 0.0}
	// 0.001, 0.01: idle at one P; 0.3: busy; 0.9: every P, not idle
	// however low the next sample (0.001 brings it back to one P, and
	// that sample already counts as idle); 0.001, 0.0 idle.
	want := []bool{true, true, false, false, true, true, true}
	var paces []bool
	runScript(p, script, func(int) {}, func(idle bool) { paces = append(paces, idle) })
	if fmt.Sprint(paces) != fmt.Sprint(want) {
		t.Errorf("pace calls %v, want %v", paces, want)
	}
}

// TestStartStop: Start governs the real process and its stop gives the
// process back the Ps it had, whatever the governor set meanwhile.
func TestStartStop(t *testing.T) {
	old := runtime.GOMAXPROCS(3)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	stop := Start(3, nil)
	runtime.GOMAXPROCS(1) // as the governor would on a quiet process
	stop()
	if n := runtime.GOMAXPROCS(0); n != 3 {
		t.Errorf("after stop GOMAXPROCS = %d, want 3", n)
	}
}

// TestDefaultPolicy: the default lets a process out of one P only when
// that P is nearly saturated, and brings it back below Up, so that a load
// that fits on one P (where it costs less) does not stay on every P after
// a burst, and cannot flip back at once (the same work never costs less
// CPU on more Ps).
func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy(3)
	if p.Max != 3 || p.Up < 0.8 || p.Up > 1 || p.Down >= p.Up || p.Down < 0.5 || p.Hold < 2 {
		t.Fatalf("DefaultPolicy(3) = %+v", p)
	}
	for _, tc := range []struct {
		cur   int
		used  float64
		wantN int
	}{
		{1, 0.5, 1},  // two loops relaying bulk data on one P: stays
		{1, 0.8, 1},  // busy, not saturated: stays
		{1, 0.95, 3}, // saturated: every P
		{3, 0.65, 3}, // the same bulk load on every P, first quiet sample
	} {
		if n, _ := p.Next(tc.cur, tc.used, 0); n != tc.wantN {
			t.Errorf("Next(%d, %v, 0) = %d, want %d", tc.cur, tc.used, n, tc.wantN)
		}
	}
	cur, quiet := 3, 0
	for range p.Hold {
		cur, quiet = p.Next(cur, 0.65, quiet)
	}
	if cur != 1 {
		t.Errorf("after %d samples at 0.65 on every P: %d Ps, want 1", p.Hold, cur)
	}
}

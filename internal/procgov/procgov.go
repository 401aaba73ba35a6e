// Package procgov sets how many Ps (GOMAXPROCS) a proxy process runs with
// from the CPU it uses: one while it needs less than a CPU, all of them
// once it needs more.
//
// Why: each event loop is a goroutine that parks in the runtime's
// netpoller when idle. With more Ps than running goroutines, every loop
// that wakes makes the scheduler wake a second, spinning thread for an
// idle P (a futex wake, a context switch, a look at every run queue, a
// futex sleep): on the echo load of BENCHMARKS.md that is one futex call
// for every four relayed messages and 25-30 % of the process's CPU. With
// one P the loops take turns on one thread and one netpoller wake-up
// serves them all, at nginx's CPU per message; but one P caps the
// process at one CPU, which a handshake storm or bulk relaying needs more
// than. So the governor samples the process's CPU time and gives it every
// P once one P is nearly saturated, and goes back to one after it has
// used less than one P could carry for a while (BENCHMARKS.md, "Adaptive
// GOMAXPROCS" and "Bulk on one P").
//
// Why so late: the same work costs more CPU on every P than on one, by
// 60 % when two loops relay bulk data (each wake-up of a loop makes the
// scheduler hand work between threads), and on a host whose CPUs are
// shared with other processes one P even relays more bytes per second.
// Spare Ps pay only once one P cannot keep up.
//
// procgov knows no sockets or HTTP: it reads a CPU clock and calls a
// setter, both supplied by the caller (Run) or by the process (Start).
package procgov

import (
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// Policy decides the P count from one sample of CPU use.
type Policy struct {
	// Max is the P count of a busy process (the loops plus one spare).
	Max int
	// Up is the CPU use, in CPUs, at or above which a process on one P
	// gets Max: at one P it can use about one CPU, so this is how close
	// to that cap it may run before it is let out.
	Up float64
	// Down is the CPU use, in CPUs, below which a process on Max Ps
	// counts a sample as quiet. It is lower than Up because the same
	// work costs more CPU with spare Ps (the wake-ups above), so that a
	// load between the two does not flip back and forth.
	Down float64
	// Hold is how many quiet samples in a row bring a process back to
	// one P.
	Hold int
	// Idle is the CPU use, in CPUs, below which a process on one P is
	// idle: Start then samples it every IdleInterval instead of every
	// Interval (each sample wakes the process).
	Idle float64
}

// DefaultPolicy is what Start uses for max Ps.
func DefaultPolicy(max int) Policy {
	return Policy{Max: max, Up: 0.85, Down: 0.7, Hold: 3, Idle: 0.02}
}

// Next returns the P count for the next interval and the new count of
// quiet samples, given the current count cur, the CPU used over the last
// interval (in CPUs) and the quiet samples seen so far.
func (p Policy) Next(cur int, used float64, quiet int) (procs, quietAfter int) {
	if p.Max <= 1 {
		return 1, 0
	}
	if cur <= 1 {
		if used >= p.Up {
			return p.Max, 0
		}
		return 1, 0
	}
	if used >= p.Down {
		return cur, 0
	}
	quiet++
	if quiet >= p.Hold {
		return 1, 0
	}
	return cur, quiet
}

// Interval is how often Start samples the process's CPU time, and
// IdleInterval how often while the process is idle (Policy.Idle): the
// samples were two thirds of an idle worker's CPU and nine in ten of its
// wake-ups (BENCHMARKS.md, "An idle process samples once a second"). A
// process that goes from idle to busy in one step runs on one P until
// the next sample, at most IdleInterval later.
const (
	Interval     = 100 * time.Millisecond
	IdleInterval = time.Second
)

// Run applies p at each tick until ticks is closed or stop is: cpu returns
// the process's CPU time so far, set changes the P count. The process
// runs with p.Max Ps when Run is called; set is called only when the
// count changes, and Run returns the count it left. pace, if not nil, is
// told after each sample whether the process is idle (one P, under
// p.Idle), so that the caller can space the ticks out.
func Run(p Policy, ticks <-chan time.Time, cpu func() time.Duration, set func(int), pace func(idle bool), stop <-chan struct{}) int {
	cur, quiet := max(p.Max, 1), 0
	last := cpu()
	var lastAt time.Time
	for {
		var now time.Time
		var ok bool
		select {
		case <-stop:
			return cur
		case now, ok = <-ticks:
			if !ok {
				return cur
			}
		}
		c := cpu()
		if !lastAt.IsZero() && now.After(lastAt) {
			used := float64(c-last) / float64(now.Sub(lastAt))
			n, q := p.Next(cur, used, quiet)
			if n != cur {
				set(n)
			}
			cur, quiet = n, q
			if pace != nil {
				pace(cur <= 1 && used < p.Idle)
			}
		}
		last, lastAt = c, now
	}
}

// Start runs the default policy for max Ps on this process in a
// goroutine, sampling every Interval, with GOMAXPROCS as the setter and
// getrusage as the clock, and returns the function that stops it (and
// gives the process back its max Ps). The process should run with max Ps
// when Start is called. onChange, if not nil, is told each new count.
func Start(max int, onChange func(procs int)) (stop func()) {
	ch := make(chan struct{})
	done := make(chan struct{})
	t := time.NewTicker(Interval)
	go func() {
		defer close(done)
		slow := false
		Run(DefaultPolicy(max), t.C, processCPU, func(n int) {
			runtime.GOMAXPROCS(n)
			if onChange != nil {
				onChange(n)
			}
		}, func(idle bool) {
			if idle == slow {
				return
			}
			slow = idle
			if idle {
				t.Reset(IdleInterval)
			} else {
				t.Reset(Interval)
			}
		}, ch)
	}()
	return func() {
		t.Stop()
		close(ch)
		<-done
		runtime.GOMAXPROCS(max)
	}
}

// processCPU is the user and system CPU time of every thread of the
// process.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

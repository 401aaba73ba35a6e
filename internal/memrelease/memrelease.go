// Package memrelease gives the heap's free pages back to the kernel after
// a burst of new connections.
//
// While connections arrive the heap holds, besides the connections, the
// garbage of their handshakes (a TLS handshake allocates tens of KB), and
// the Go runtime keeps the pages of a heap as large as its last goal,
// about twice the live heap at GOGC=100, long after the burst: an idle
// proxy's RSS is set by the peak of the last ramp, not by what it holds.
// `wsproxy bench -tls` measured 8.5 KB per idle wss connection 30 s after
// a ramp of 3,000 as fast as the load generator goes, of which 3.5 KB is
// live heap. So once a burst of at least releaseBurst new connections is
// over (no connection accepted for one releaseCheck), the server runs
// debug.FreeOSMemory, once: a collection and the return of every free page
// to the kernel, from a goroutine of its own so that no loop waits for it.
// It runs at most once per releaseGap, and never while connections keep
// arriving (a steady stream has no burst to recover from).
//
// Nor while the process is busy relaying what the burst brought: a
// release is a forced collection, and the page trim that follows it
// (core.Options.AfterRelease) drops executable pages the loops are
// running, which come back one fault at a time. On the echo load of
// BENCHMARKS.md (1,000 connections, 5,000 round trips/s, 0.13 CPU) a
// release 5-10 s after the connections came up put 9 ms round trips into
// every run and raised the p99.9 by a third ("A release waits for a quiet
// process"). A busy process needs its free pages back soon anyway, and the
// runtime's background scavenger returns what it does not; a release waits
// for a check in which the process used less than Busy of a CPU.
package memrelease

import (
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults of a Releaser.
const (
	Check = 5 * time.Second  // how often Run looks at the count of accepted connections
	Gap   = 30 * time.Second // at most one release per Gap
	Burst = 1000             // connections accepted that make a burst
	Busy  = 0.05             // CPU use, in CPUs, at or above which a process is busy
)

// Releaser decides when to give memory back. The zero value uses the
// defaults and debug.FreeOSMemory.
type Releaser struct {
	Burst uint64        // connections accepted that make a burst; 0: Burst
	Gap   time.Duration // 0: Gap
	Free  func()        // nil: debug.FreeOSMemory; a test's stand-in otherwise
	Busy  float64       // CPU use, in CPUs, that makes a check busy; 0: Busy
	// CPU is the process's CPU time so far, for Run; nil: getrusage's.
	CPU func() time.Duration
	// Idle, if set, is called by Run after each check (and after the
	// release it made, if any) with whether the process was quiet in it:
	// no connection accepted and under Busy of a CPU used. Run's caller
	// holds the collector while quiet with it (internal/gcidle).
	Idle func(quiet bool)

	last     uint64    // accepted at the previous check
	quiet    bool      // the last check was quiet
	meter    Meter     // CPU use since the previous check
	released uint64    // accepted at the last release
	at       time.Time // of the last release
}

// Check is called with the number of connections accepted so far and the
// process's CPU time so far; it reports whether it gave memory back.
func (r *Releaser) Check(accepted uint64, cpu time.Duration, now time.Time) bool {
	burst, gap := r.Burst, r.Gap
	if burst == 0 {
		burst = Burst
	}
	if gap == 0 {
		gap = Gap
	}
	r.meter.Busy = r.Busy
	quiet := r.meter.Quiet(cpu, now) && accepted == r.last
	r.last, r.quiet = accepted, quiet
	if !quiet || accepted-r.released < burst || now.Sub(r.at) < gap {
		return false
	}
	if r.Free != nil {
		r.Free()
	} else {
		debug.FreeOSMemory()
	}
	r.released, r.at = accepted, now
	return true
}

// Run calls Check every interval with accepted() and the process's CPU
// time until done is closed, and released() after each release. It runs
// on the caller's goroutine.
func (r *Releaser) Run(every time.Duration, done <-chan struct{}, accepted func() uint64, released func()) {
	cpu := r.CPU
	if cpu == nil {
		cpu = ProcessCPU
	}
	r.meter.Start(cpu(), time.Now()) // the first tick's check has its baseline
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			r.tick(accepted(), cpu(), now, released)
		}
	}
}

// tick is one of Run's checks: Check, released after a release, then Idle.
func (r *Releaser) tick(accepted uint64, cpu time.Duration, now time.Time, released func()) {
	if r.Check(accepted, cpu, now) {
		released()
	}
	if r.Idle != nil {
		r.Idle(r.quiet)
	}
}

// Meter tells the intervals in which the process was quiet, using less
// than Busy of a CPU, from the busy ones, by its CPU time at the start and
// end of each.
type Meter struct {
	Busy float64 // CPUs; 0: Busy

	cpu time.Duration // CPU time at the start of the interval
	at  time.Time     // start of the interval
}

// Start begins the first interval.
func (m *Meter) Start(cpu time.Duration, now time.Time) { m.cpu, m.at = cpu, now }

// Quiet ends the interval at now, with cpu the process's CPU time so far,
// reports whether the process was quiet in it, and begins the next one.
func (m *Meter) Quiet(cpu time.Duration, now time.Time) bool {
	busy := m.Busy
	if busy == 0 {
		busy = Busy
	}
	quiet := float64(cpu-m.cpu) < busy*float64(now.Sub(m.at))
	m.cpu, m.at = cpu, now
	return quiet
}

// WaitQuiet returns at the end of the first interval (of length every) in which
// the process was quiet (Meter, with Busy; getrusage's CPU time), or when
// done is closed; it reports which.
func WaitQuiet(every time.Duration, done <-chan struct{}) bool {
	return Watch(every, done, func(quiet bool) bool { return !quiet })
}

// Watch calls fn at the end of each interval (of length every) with whether
// the process was quiet in it (Meter, with Busy; getrusage's CPU time), until
// fn returns false, and reports true then; or until done is closed (nil:
// never), and reports false.
func Watch(every time.Duration, done <-chan struct{}, fn func(quiet bool) (more bool)) bool {
	var m Meter
	m.Start(ProcessCPU(), time.Now())
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return false
		case now := <-t.C:
			if !fn(m.Quiet(ProcessCPU(), now)) {
				return true
			}
		}
	}
}

// ProcessCPU is the user and system CPU time of every thread of the
// process (0 if getrusage fails: every check is then quiet).
func ProcessCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

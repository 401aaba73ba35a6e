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
package memrelease

import (
	"runtime/debug"
	"time"
)

// Defaults of a Releaser.
const (
	Check = 5 * time.Second  // how often Run looks at the count of accepted connections
	Gap   = 30 * time.Second // at most one release per Gap
	Burst = 1000             // connections accepted that make a burst
)

// Releaser decides when to give memory back. The zero value uses the
// defaults and debug.FreeOSMemory.
type Releaser struct {
	Burst uint64        // connections accepted that make a burst; 0: Burst
	Gap   time.Duration // 0: Gap
	Free  func()        // nil: debug.FreeOSMemory; a test's stand-in otherwise

	last     uint64    // accepted at the previous check
	released uint64    // accepted at the last release
	at       time.Time // of the last release
}

// Check is called with the number of connections accepted so far; it
// reports whether it gave memory back.
func (r *Releaser) Check(accepted uint64, now time.Time) bool {
	burst, gap := r.Burst, r.Gap
	if burst == 0 {
		burst = Burst
	}
	if gap == 0 {
		gap = Gap
	}
	quiet := accepted == r.last
	r.last = accepted
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

// Run calls Check every interval with accepted() until done is closed,
// and released() after each release. It runs on the caller's goroutine.
func (r *Releaser) Run(every time.Duration, done <-chan struct{}, accepted func() uint64, released func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case now := <-t.C:
			if r.Check(accepted(), now) {
				released()
			}
		}
	}
}

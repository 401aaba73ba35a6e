package core

import (
	"runtime/debug"
	"time"
)

// Giving memory back after a burst of connections.
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
// Options.NoReleaseMemory turns it off, to measure with and without.
const (
	releaseCheck = 5 * time.Second
	releaseGap   = 30 * time.Second
	releaseBurst = 1000
)

// releaser decides when to give memory back; check runs it on a ticker.
type releaser struct {
	burst    uint64 // connections accepted that make a burst
	gap      time.Duration
	last     uint64    // accepted at the previous check
	released uint64    // accepted at the last release
	at       time.Time // of the last release
	free     func()    // debug.FreeOSMemory, or a test's stand-in
}

// check is called with the number of connections accepted so far; it
// reports whether it gave memory back.
func (r *releaser) check(accepted uint64, now time.Time) bool {
	quiet := accepted == r.last
	r.last = accepted
	if !quiet || accepted-r.released < r.burst || now.Sub(r.at) < r.gap {
		return false
	}
	r.free()
	r.released, r.at = accepted, now
	return true
}

// releaseMemory runs the releaser until the server closes.
func (s *Server) releaseMemory(every time.Duration, r *releaser) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case now := <-t.C:
			if r.check(s.stats.accepted.Load(), now) {
				s.stats.memReleases.Add(1)
			}
		}
	}
}

func (s *Server) startMemoryReleaser() {
	if s.opts.NoReleaseMemory {
		return
	}
	go s.releaseMemory(releaseCheck, &releaser{burst: releaseBurst, gap: releaseGap, free: debug.FreeOSMemory})
}

// Package gcroom keeps the garbage collector's heap goal at least Room
// above the live heap, by raising GOGC while the live heap is small.
//
// Why: at GOGC=100 the heap may grow to twice the live heap before the
// next collection, and never less than 4 MiB. A proxy's live heap is its
// connections: a few MiB. TLS handshakes allocate tens of KB each (key
// shares, certificates, the key schedule, the session ticket), so a storm
// of them at GOGC=100 runs a collection every few dozen handshakes: a
// storm of 10,000 resumed TLS 1.3 connections against a 2-3 MiB live heap
// ran 214 collections in 4.5 s, 15-20 % of the proxy's CPU (BENCHMARKS.md,
// "TLS handshake storms: the collector's share"). Proportional headroom
// is the wrong shape here: what a storm needs is room for its garbage,
// an absolute amount, whatever the live heap. Room above the live heap
// costs memory only while garbage is made: an idle process allocates
// nothing and its heap does not grow into the room, and a large live heap
// (where 2x is more than Room) is left at GOGC=100.
//
// The goal is adjusted after every collection, from a finalizer that
// re-arms itself: no timer, no wake-up of an idle process. A GOGC
// environment variable turns it off: the operator's setting stands.
package gcroom

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Room is the least headroom the heap goal keeps above the live heap.
const Room = 8 << 20

// Base is GOGC when the live heap is large enough to give Room by itself.
const Base = 100

// maxPercent bounds GOGC for a tiny live heap.
const maxPercent = 1000

// Percent is the GOGC that gives a live heap of live bytes a goal Room
// above it, and never less than Base.
func Percent(live uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := int((uint64(Room)*100 + live - 1) / live)
	return min(max(p, Base), maxPercent)
}

// sentinel is what a finalizer is set on: large enough that it is not
// batched with other tiny objects (those may never be finalized).
type sentinel struct {
	stop *atomic.Bool
	_    [24]byte
}

// Start adjusts GOGC after each collection until the returned function is
// called, unless the GOGC environment variable is set. onChange, if not
// nil, is told each new GOGC (from the finalizer goroutine).
func Start(onChange func(percent int)) (stop func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	var stopped atomic.Bool
	cur := Base
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var arm func()
	arm = func() {
		s := &sentinel{stop: &stopped}
		runtime.SetFinalizer(s, func(s *sentinel) {
			if s.stop.Load() {
				return
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				p := Percent(sample[0].Value.Uint64())
				// Ten percent of hysteresis: the live heap moves a little
				// at every collection.
				if p*10 > cur*11 || p*11 < cur*10 {
					debug.SetGCPercent(p)
					cur = p
					if onChange != nil {
						onChange(p)
					}
				}
			}
			arm()
		})
	}
	arm()
	return func() {
		if stopped.CompareAndSwap(false, true) {
			debug.SetGCPercent(Base)
		}
	}
}

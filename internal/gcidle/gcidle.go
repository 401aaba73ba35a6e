// Package gcidle keeps an idle process from collecting garbage it does not
// have.
//
// The Go runtime forces a collection every two minutes in a process that
// had none for that long, whatever it allocated. In an idle proxy holding
// connections that collection frees nothing, and it is not free: it walks
// every goroutine's stack and scans the heap through its types, and the
// tables it reads for that (the executable's .gopclntab and .rodata) are
// pages internal/pagetrim dropped from the process's resident set. One
// idle worker holding 2,000 connections went from 2.4 to 4.9 MB of the
// executable resident at its first forced collection, 130 s after it
// started, with a 3 ms stop-the-world pause (9 ms at the next one) while
// those pages faulted back (BENCHMARKS.md, "Idle processes stop
// collecting").
//
// While a Hold is on, the collector's percentage is off (GOGC=off), which
// is the one setting under which the runtime forces no collection, and a
// memory limit stands at the memory the runtime has now plus the heap goal
// the GC percentage in force would have given (the live heap at GOGC=100,
// at least MinHeadroom): a process that allocates meanwhile is collected at
// about the point it would have been anyway. The first collection, whatever
// started it, ends the Hold (a finalizer on a sentinel allocated by On),
// and so does Off: the percentage and limit the process had before come
// back, so a burst after an idle spell is paced as usual from its second
// collection on. Check, the caller's periodic verdict, also lets go of a
// process that keeps making garbage while it counts as idle (Budget), so
// that a hold never lets a heap grow where the two-minute rule would have
// kept it small.
package gcidle

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// MinHeadroom is the least memory a Hold lets the runtime grow by before a
// collection: the heap goal of a small heap at GOGC=100.
const MinHeadroom = 4 << 20

// Budget is the most garbage a process may have made since its last
// collection and still be held (Check): a process that keeps allocating
// while it counts as idle (a metrics scrape every few seconds, say) is
// collected by the runtime's two-minute rule as before, instead of growing
// its heap into the Hold's headroom.
const Budget = 1 << 20

// Hold is the idle state of this process's collector. The zero value is
// off and ready to use. A process needs one Hold: the settings it changes
// are the process's.
type Hold struct {
	mu      sync.Mutex
	on      bool
	gen     uint64 // counts Ons: a sentinel of an earlier On ends nothing
	percent int    // GC percentage before On
	limit   int64  // memory limit before On

	// Held and Left, if set, are called (with the Hold unlocked) each
	// time a Hold begins and ends; Left hears whether a collection ended
	// it. For tests and logs.
	Held func()
	Left func(collected bool)
}

// sentinel is what On hands the collector: it is unreachable from the
// start, so the first collection after On finds it and runs its
// finalizer. The pointer keeps it out of the tiny allocator, whose blocks
// may hold a finalized object alive indefinitely.
type sentinel struct {
	h   *Hold
	gen uint64
}

// On turns the Hold on and reports whether it did: not when it is on
// already, and not when collection is off in this process (GOGC=off).
func (h *Hold) On() bool {
	h.mu.Lock()
	if h.on {
		h.mu.Unlock()
		return false
	}
	percent := debug.SetGCPercent(-1)
	if percent < 0 {
		debug.SetGCPercent(percent)
		h.mu.Unlock()
		return false
	}
	prev := debug.SetMemoryLimit(-1) // reads the limit
	debug.SetMemoryLimit(min(prev, Limit(percent)))
	h.on, h.percent, h.limit = true, percent, prev
	h.gen++
	runtime.SetFinalizer(&sentinel{h: h, gen: h.gen}, func(s *sentinel) { s.h.end(s.gen, true) })
	held := h.Held
	h.mu.Unlock()
	if held != nil {
		held()
	}
	return true
}

// Check applies one verdict on the process's last few seconds: quiet and
// with less than Budget of garbage made since the last collection, it
// turns the Hold on; otherwise off. It reports whether the Hold is on.
func (h *Hold) Check(quiet bool) bool {
	if !quiet || Garbage() >= Budget {
		h.Off()
		return false
	}
	h.On()
	return h.IsOn()
}

// Off ends the Hold, if it is on, and reports whether it was.
func (h *Hold) Off() bool {
	h.mu.Lock()
	gen := h.gen
	h.mu.Unlock()
	return h.end(gen, false)
}

// IsOn reports whether the Hold is on.
func (h *Hold) IsOn() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.on
}

// end restores the settings On changed, if the Hold it started is still
// on (gen), and reports whether it did.
func (h *Hold) end(gen uint64, collected bool) bool {
	h.mu.Lock()
	if !h.on || gen != h.gen {
		h.mu.Unlock()
		return false
	}
	// The percentage first: between the two calls the process has
	// GOGC's pacing under the Hold's limit, never neither. A percentage
	// set meanwhile by someone else (internal/gcroom adjusts it after every
	// collection, from a finalizer that may run before this one) is newer
	// than the one On saw, and stays.
	if cur := debug.SetGCPercent(h.percent); cur >= 0 {
		debug.SetGCPercent(cur)
	}
	debug.SetMemoryLimit(h.limit)
	h.on = false
	left := h.Left
	h.mu.Unlock()
	if left != nil {
		left(collected)
	}
	return true
}

// Garbage is about how many bytes the heap took since the last collection:
// the heap's objects, live and dead, not yet swept free, less what the
// last collection found live.
func Garbage() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - min(s[1].Value.Uint64(), s[0].Value.Uint64())
}

// Limit is the memory limit On sets when the GC percentage was percent:
// the memory the runtime holds and has not returned to the kernel, plus
// the headroom percent gives the live heap (internal/gcroom raises it for
// a small heap), at least MinHeadroom.
func Limit(percent int) int64 {
	s := []metrics.Sample{
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	var v [3]uint64
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = s[i].Value.Uint64()
		}
	}
	held := v[0] - min(v[1], v[0])
	room := uint64(MinHeadroom)
	if percent > 0 && v[2] <= math.MaxUint64/uint64(percent) {
		room = max(room, v[2]*uint64(percent)/100)
	}
	limit := held + room
	if limit > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(limit)
}

package gcidle

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// These tests change the process's collector settings: none runs in
// parallel, and each restores what it found (keep).

// percent reads the GC percentage.
func percent() int {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p
}

// keep restores the GC percentage and memory limit at the end of a test.
func keep(t *testing.T) {
	p, l := percent(), debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(p)
		debug.SetMemoryLimit(l)
	})
}

// waitLeft waits for a Hold's Left callback; a finalizer runs when the
// runtime's finalizer goroutine gets to it, so the bound is generous and
// only a failure waits for it.
func waitLeft(t *testing.T, left <-chan bool) bool {
	t.Helper()
	select {
	case c := <-left:
		return c
	case <-time.After(time.Minute):
		t.Fatal("the hold did not end")
		return false
	}
}

// TestOnOff: On turns the percentage off and sets a limit above what the
// runtime holds now; Off gives back the percentage and limit found.
func TestOnOff(t *testing.T) {
	keep(t)
	debug.SetGCPercent(150)
	debug.SetMemoryLimit(math.MaxInt64)
	var h Hold
	if h.IsOn() || h.Off() {
		t.Fatal("a zero Hold is on")
	}
	floor := Limit(0) - MinHeadroom // what the runtime holds now
	if !h.On() {
		t.Fatal("On = false; want true")
	}
	if p := percent(); p != -1 {
		t.Errorf("percentage under the hold %d; want -1 (off)", p)
	}
	if l := debug.SetMemoryLimit(-1); l == math.MaxInt64 || l < floor+MinHeadroom/2 {
		t.Errorf("limit under the hold %d; want one above %d, what the runtime holds", l, floor)
	}
	if h.On() {
		t.Error("a second On = true; want false")
	}
	if !h.Off() || h.IsOn() {
		t.Fatal("Off did not end the hold")
	}
	if p, l := percent(), debug.SetMemoryLimit(-1); p != 150 || l != math.MaxInt64 {
		t.Errorf("after Off: percentage %d, limit %d; want 150 and %d", p, l, int64(math.MaxInt64))
	}
	if h.Off() {
		t.Error("a second Off = true; want false")
	}
}

// TestLowerLimitStays: an operator's GOMEMLIMIT lower than the hold's
// limit stays the limit under the hold.
func TestLowerLimitStays(t *testing.T) {
	keep(t)
	low := Limit(100) / 2
	debug.SetMemoryLimit(low)
	var h Hold
	h.On()
	defer h.Off()
	if l := debug.SetMemoryLimit(-1); l != low {
		t.Errorf("limit under the hold %d; want the lower one set before, %d", l, low)
	}
}

// TestGCOffStaysOff: with collection off (GOGC=off) there is nothing to
// hold, and On leaves the settings alone.
func TestGCOffStaysOff(t *testing.T) {
	keep(t)
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(math.MaxInt64)
	var h Hold
	if h.On() || h.IsOn() {
		t.Fatal("On with GOGC off = true; want false")
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("limit %d; want it untouched", l)
	}
}

// TestCollectionEnds: any collection ends the hold, and the settings come
// back.
func TestCollectionEnds(t *testing.T) {
	keep(t)
	debug.SetGCPercent(100)
	left := make(chan bool, 4)
	h := &Hold{Left: func(c bool) { left <- c }}
	if !h.On() {
		t.Fatal("On = false")
	}
	runtime.GC()
	runtime.GC() // a sentinel allocated while a cycle marked survives that cycle
	if !waitLeft(t, left) {
		t.Error("Left(false) after a collection; want true")
	}
	if h.IsOn() || percent() != 100 {
		t.Errorf("after the collection: on %v, percentage %d; want off and 100", h.IsOn(), percent())
	}
}

// TestAllocationCollects: a process that allocates under the hold is
// collected when it has allocated about the headroom, and that ends the
// hold: the limit stands in for GOGC's goal.
func TestAllocationCollects(t *testing.T) {
	keep(t)
	debug.SetGCPercent(100)
	left := make(chan bool, 4)
	h := &Hold{Left: func(c bool) { left <- c }}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	if !h.On() {
		t.Fatal("On = false")
	}
	var sink []byte
	for i := 0; i < 1<<14; i++ { // at most 1 GiB, 64 KiB at a time
		sink = make([]byte, 64<<10)
		if i%64 == 0 {
			runtime.ReadMemStats(&ms)
			if ms.NumGC != before {
				break
			}
		}
	}
	_ = sink
	runtime.ReadMemStats(&ms)
	if ms.NumGC == before {
		t.Fatal("1 GiB allocated under the hold and no collection")
	}
	if !waitLeft(t, left) {
		t.Error("Left(false); want true: a collection ended the hold")
	}
	if percent() != 100 {
		t.Errorf("percentage %d after the hold; want 100", percent())
	}
}

// TestStaleSentinel: the sentinel of an earlier hold ends nothing.
func TestStaleSentinel(t *testing.T) {
	keep(t)
	var h Hold
	h.On()
	first := h.gen
	h.Off()
	h.On()
	defer h.Off()
	if h.end(first, true) || !h.IsOn() {
		t.Error("the first hold's sentinel ended the second hold")
	}
}

// TestNewerPercentStays: a percentage set while the hold was on (as
// internal/gcroom does after a collection) is kept when it ends.
func TestNewerPercentStays(t *testing.T) {
	keep(t)
	debug.SetGCPercent(100)
	var h Hold
	h.On()
	debug.SetGCPercent(300)
	h.Off()
	if p := percent(); p != 300 {
		t.Errorf("percentage %d; want 300, set during the hold", p)
	}
}

var keepLive []byte

// TestLimitFollowsPercent: the headroom above what the runtime holds is
// the heap goal of the percentage in force: ten times the live heap at
// 1,000 % (internal/gcroom's for a small heap), the live heap at 100 %,
// never under MinHeadroom.
func TestLimitFollowsPercent(t *testing.T) {
	keepLive = make([]byte, 4<<20)
	defer func() { keepLive = nil }()
	runtime.GC() // the live heap is measured at the end of a collection
	l100, l1000, l0 := Limit(100), Limit(1000), Limit(0)
	if d := l1000 - l100; d < 30<<20 {
		t.Errorf("Limit(1000) - Limit(100) = %d with over 4 MiB live; want at least 9 x 4 MiB less slack", d)
	}
	// (No lower bound: the scavenger may return pages between the reads.)
	if d := l100 - l0; d > 8<<20 {
		t.Errorf("Limit(100) - Limit(0) = %d; want the live heap over MinHeadroom, a few hundred KiB", d)
	}
	if l0 <= MinHeadroom {
		t.Errorf("Limit(0) = %d; want what the runtime holds plus MinHeadroom", l0)
	}
}

var keepGarbage [][]byte

// TestCheck: a quiet verdict holds, a busy one lets go, and so does a
// quiet one after more than Budget of garbage since the last collection;
// the collection that follows makes the process holdable again.
func TestCheck(t *testing.T) {
	keep(t)
	debug.SetGCPercent(100)
	var h Hold
	defer h.Off()
	runtime.GC()
	if !h.Check(true) {
		t.Fatalf("quiet, %d B of garbage: not held", Garbage())
	}
	if h.Check(false) || h.IsOn() {
		t.Fatal("busy: still held")
	}
	h.Check(true)
	for range 2 * Budget / (64 << 10) { // garbage once the slices are dropped
		keepGarbage = append(keepGarbage, make([]byte, 64<<10))
	}
	keepGarbage = nil
	if g := Garbage(); g < Budget {
		t.Fatalf("Garbage() = %d after 2 x Budget allocated; want at least %d", g, Budget)
	}
	if h.Check(true) || h.IsOn() {
		t.Errorf("quiet with %d B of garbage: held; want let go for the runtime to collect", Garbage())
	}
	runtime.GC()
	if !h.Check(true) {
		t.Errorf("quiet after a collection (%d B of garbage): not held", Garbage())
	}
}

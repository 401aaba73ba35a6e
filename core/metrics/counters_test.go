package metrics

import (
	"slices"
	"testing"
	"time"
)

// TestCloseCodesTable: distinct codes take slots until they run out; later
// new codes are counted as other, known ones still in their slot.
func TestCloseCodesTable(t *testing.T) {
	var tbl CloseCodes
	for i := range CloseCodeSlots + 3 {
		tbl.Add(uint16(3000 + i))
	}
	tbl.Add(3000)
	tbl.Add(uint16(3000 + CloseCodeSlots))
	if got := tbl.slots[0].n.Load(); got != 2 {
		t.Errorf("code 3000: got %d; want 2", got)
	}
	if got := tbl.slots[CloseCodeSlots-1].code.Load(); got != uint32(3000+CloseCodeSlots-1) {
		t.Errorf("last slot holds %d; want %d", got, 3000+CloseCodeSlots-1)
	}
	if got := tbl.other.Load(); got != 4 {
		t.Errorf("other: got %d; want 4", got)
	}
}

// TestServerConnect: a connect's latency lands in the first bucket whose
// bound it does not exceed, the slowest in the last; the snapshot sums
// the loops.
func TestServerConnect(t *testing.T) {
	m := NewCounters(2)
	o := m.Server("chat", "10.0.0.1:80")
	if m.Server("chat", "10.0.0.1:80") != o {
		t.Fatalf("Server: a second call made new counters; want the same")
	}
	o.AddConnect(0, ConnectBuckets[0])
	o.AddConnect(1, ConnectBuckets[0]+1)
	o.AddConnect(1, time.Hour)
	sm := o.Metrics(true)
	want := make([]uint64, len(ConnectBuckets)+1)
	want[0], want[1], want[len(ConnectBuckets)] = 1, 1, 1
	if !slices.Equal(sm.Connect.Counts, want) || sm.Up != 1 || len(sm.Connect.Bounds) != len(ConnectBuckets) {
		t.Errorf("Metrics: counts %v, up %d, %d bounds; want %v, 1, %d", sm.Connect.Counts, sm.Up, len(sm.Connect.Bounds), want, len(ConnectBuckets))
	}
}

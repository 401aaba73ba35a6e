package core

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/gobwas/ws"

	"wsproxy/core/metrics"
	"wsproxy/internal/dnsup"
)

// TestCloseCodesTable: distinct codes take slots until they run out; later
// new codes are counted as other, known ones still in their slot.
func TestCloseCodesTable(t *testing.T) {
	var tbl closeCodes
	for i := range closeCodeSlots + 3 {
		tbl.add(uint16(3000 + i))
	}
	tbl.add(3000)
	tbl.add(uint16(3000 + closeCodeSlots))
	if got := tbl.slots[0].n.Load(); got != 2 {
		t.Errorf("code 3000: got %d; want 2", got)
	}
	if got := tbl.slots[closeCodeSlots-1].code.Load(); got != uint32(3000+closeCodeSlots-1) {
		t.Errorf("last slot holds %d; want %d", got, 3000+closeCodeSlots-1)
	}
	if got := tbl.other.Load(); got != 4 {
		t.Errorf("other: got %d; want 4", got)
	}
}

// TestCloseReasons: the reason labels the admin listener exports
// (metrics.CloseReasons) are the labels of the rules, in their order, so
// that no rule's counter goes unexported.
func TestCloseReasons(t *testing.T) {
	var labels []string
	for r := ruleNone + 1; r < numCloseRules; r++ {
		labels = append(labels, closeRules[r].label)
	}
	if !slices.Equal(labels, metrics.CloseReasons[:]) {
		t.Errorf("rule labels %q; want metrics.CloseReasons %q", labels, metrics.CloseReasons)
	}
}

// TestSampleTunnel: log.sample keeps exactly that fraction of tunnels on
// a loop, evenly spread.
func TestSampleTunnel(t *testing.T) {
	tests := []struct {
		rate float64
		want string // per tunnel: x logged, . not
	}{
		{1, "xxxxxxxx"},
		{0, "........"},
		{0.5, ".x.x.x.x"},
		{0.25, "...x...x"},
		{0.75, ".xxx.xxx"},
	}
	for _, tc := range tests {
		s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		lm := &loopMetrics{}
		var got []byte
		for range len(tc.want) {
			if s.sampleTunnel(lm, tc.rate) {
				got = append(got, 'x')
			} else {
				got = append(got, '.')
			}
		}
		if string(got) != tc.want {
			t.Errorf("sample %v: got %s; want %s", tc.rate, got, tc.want)
		}
	}
}

// BenchmarkRelayHooks is what the relay pays per frame for metrics: a
// message and its bytes counted on the connection and the loop.
func BenchmarkRelayHooks(b *testing.B) {
	l := &Loop{obs: &loopMetrics{}}
	c := &conn{l: l}
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 100}
	b.ReportAllocs()
	for b.Loop() {
		c.noteFrame(0, h)
		c.noteBytes(0, 102)
	}
}

// TestDNSResults: the result labels the admin listener exports
// (metrics.DNSResults) are dnsup's Results, in their order.
func TestDNSResults(t *testing.T) {
	if got, want := metrics.DNSResults[:], dnsup.ResultNames[:]; !slices.Equal(got, want) {
		t.Errorf("metrics.DNSResults = %q; want dnsup.ResultNames %q", got, want)
	}
}

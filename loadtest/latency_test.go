package loadtest

import (
	"testing"
	"time"
)

// TestLatencyCDF: the distribution of 1..1000 µs, one each, at
// CDFPercentiles: it starts at the minimum, ends at the maximum, never
// decreases, and its median matches P50.
func TestLatencyCDF(t *testing.T) {
	h := newHist()
	for v := int64(1); v <= 1000; v++ {
		record(h, v*1000) // record takes nanoseconds
	}
	l := latency(h)
	if len(l.CDF) != len(CDFPercentiles) {
		t.Fatalf("len(CDF) = %d; want %d", len(l.CDF), len(CDFPercentiles))
	}
	if l.CDF[0] != time.Microsecond || l.CDF[len(l.CDF)-1] != l.Max || l.Max != 1000*time.Microsecond {
		t.Errorf("CDF from %v to %v (max %v); want 1µs to 1ms", l.CDF[0], l.CDF[len(l.CDF)-1], l.Max)
	}
	for i := 1; i < len(l.CDF); i++ {
		if l.CDF[i] < l.CDF[i-1] {
			t.Errorf("CDF decreases at %v%%: %v after %v", CDFPercentiles[i], l.CDF[i], l.CDF[i-1])
		}
		if CDFPercentiles[i] == 50 && l.CDF[i] != l.P50 {
			t.Errorf("CDF at 50%% = %v; P50 = %v", l.CDF[i], l.P50)
		}
	}
	if got := latency(newHist()); got.CDF != nil || got.Count != 0 {
		t.Errorf("empty histogram: %+v; want no CDF", got)
	}
}

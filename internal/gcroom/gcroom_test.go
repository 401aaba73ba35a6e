package gcroom

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, maxPercent},
		{512 << 10, maxPercent}, // 8 MiB over 0.5 MiB would be 1,600
		{1 << 20, 800},          // 1 MiB live: goal 9 MiB
		{3 << 20, 267},          // rounded up
		{8 << 20, Base},         // 2x gives Room by itself
		{100 << 20, Base},       // never below Base
		{4 << 20, 200},          // 4 MiB live: goal 12 MiB
	} {
		if got := Percent(c.live); got != c.want {
			t.Errorf("Percent(%d) = %d, want %d", c.live, got, c.want)
		}
	}
}

func gogc() uint64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestStart: with a test binary's small live heap, a collection raises
// GOGC to what Percent says; stop gives back Base. The loop collects until
// the finalizer goroutine has run (bounded only as a guard against a hang).
func TestStart(t *testing.T) {
	t.Setenv("GOGC", "") // Start reads it: empty is unset
	changed := make(chan int, 16)
	stop := Start(func(p int) { changed <- p })
	deadline := time.Now().Add(30 * time.Second)
	var p int
	for p == 0 {
		if time.Now().After(deadline) {
			stop()
			t.Fatal("no collection changed GOGC")
		}
		runtime.GC()
		select {
		case p = <-changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
	if p <= Base {
		t.Errorf("GOGC set to %d with a live heap far under Room", p)
	}
	if got := gogc(); got != uint64(p) {
		t.Errorf("GOGC is %d, the finalizer said %d", got, p)
	}
	stop()
	if got := gogc(); got != Base {
		t.Errorf("after stop GOGC is %d, want %d", got, Base)
	}
}

// TestStartRespectsGOGC: an operator's GOGC stands.
func TestStartRespectsGOGC(t *testing.T) {
	t.Setenv("GOGC", "100")
	stop := Start(func(p int) { t.Errorf("GOGC changed to %d although GOGC is set", p) })
	defer stop()
	runtime.GC()
	runtime.GC()
	if got := gogc(); got != 100 {
		t.Errorf("GOGC is %d", got)
	}
}

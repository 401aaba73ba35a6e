package core

import (
	"testing"
	"time"
	"unsafe"
)

// TestPerConnectionSizes keeps the per-connection structs at the sizes
// DEVELOPERS.md states: memory per connection is the product. conn fills
// its size class (320 bytes) exactly, so a field more costs 32 bytes per
// connection; endpoint fills the 64-byte class, and the upstream's is
// allocated alone. Change DEVELOPERS.md with the numbers here.
func TestPerConnectionSizes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		got, want uintptr
	}{
		{"conn", unsafe.Sizeof(conn{}), 320},
		{"endpoint", unsafe.Sizeof(endpoint{}), 64},
		{"dirState", unsafe.Sizeof(dirState{}), 16},
		{"connObs", unsafe.Sizeof(connObs{}), 40},
	} {
		if tt.got != tt.want {
			t.Errorf("unsafe.Sizeof(%s{}) = %d; want %d", tt.name, tt.got, tt.want)
		}
	}
}

// TestMicros checks the 32-bit microsecond clock an endpoint keeps its
// times in: 0 stays free for "not set", and an age is right across the
// clock's wrap (every 71 minutes).
func TestMicros(t *testing.T) {
	const wrap = int64(1<<32) * 1e3 // nanos per revolution
	for _, tt := range []struct {
		name     string
		from, to int64 // unix nanos
		want     time.Duration
	}{
		{"plain", 5e9, 5e9 + 1500e3, 1500 * time.Microsecond},
		{"zero age", 7e9, 7e9, 0},
		{"across the wrap", 3*wrap - 2e9, 3*wrap + 28e9, 30 * time.Second},
		{"from a revolution's start", 4 * wrap, 4*wrap + 5e9, 5*time.Second - time.Microsecond}, // microsAt(4*wrap) is 1, not 0
		{"an hour", 9e15, 9e15 + int64(time.Hour), time.Hour},
	} {
		from, to := microsAt(tt.from), microsAt(tt.to)
		if from == 0 || to == 0 {
			t.Errorf("%s: microsAt returned 0 (reserved for not set)", tt.name)
		}
		if got := from.since(to); got != tt.want {
			t.Errorf("%s: since = %v; want %v", tt.name, got, tt.want)
		}
	}
}

package asynclog

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// gate is a destination that blocks every Write until released, like a
// stalled log reader, and records what it got.
type gate struct {
	open chan struct{}
	mu   sync.Mutex
	got  bytes.Buffer
}

func (g *gate) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.got.Write(p)
}

// TestSlowDestination: with the destination stalled, writes return at
// once; what fits in the buffer arrives later in order, the rest is
// counted and reported; Close delivers everything before it returns.
func TestSlowDestination(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	a := New(g, 4096)
	line := func(i int) string { return fmt.Sprintf("line %04d %s\n", i, strings.Repeat("x", 80)) } // 91 bytes
	const n = 200                                                                                   // 18,200 bytes: more than the buffer
	for i := range n {
		if k, err := a.Write([]byte(line(i))); k != len(line(i)) || err != nil {
			t.Fatalf("Write %d = %d, %v", i, k, err)
		}
	}
	// Every Write returned while the destination was blocked. The buffer
	// holds 4096/91 = 45 lines; the goroutine may have taken one bufferful
	// before it blocked, so 45 to 90 lines are kept, the rest dropped.
	dropped := a.Dropped()
	if dropped < n-90 || dropped > n-45 {
		t.Errorf("dropped %d of %d lines with a 4 KiB buffer; want %d to %d", dropped, n, n-90, n-45)
	}
	close(g.open)
	a.Close()
	// The lines that got through come whole and in the order written (with
	// gaps where lines were dropped); between them, reports of the lines
	// dropped meanwhile (one per flush that followed drops), which add up
	// to Dropped.
	kept, reported, prev := 0, uint64(0), -1
	for _, l := range strings.Split(strings.TrimSuffix(g.got.String(), "\n"), "\n") {
		var k uint64
		if _, err := fmt.Sscanf(l, "asynclog: %d log lines dropped", &k); err == nil {
			reported += k
			continue
		}
		var i int
		if _, err := fmt.Sscanf(l, "line %d", &i); err != nil || l+"\n" != line(i) || i <= prev {
			t.Fatalf("line %q after line %d: want a whole line written after it", l, prev)
		}
		prev = i
		kept++
	}
	if reported != dropped || uint64(kept)+dropped != n {
		t.Errorf("%d lines delivered, %d reported dropped, Dropped() = %d; want delivered + dropped = %d, reported = Dropped", kept, reported, dropped, n)
	}
	if k, _ := a.Write([]byte("after close\n")); k != 12 || strings.Contains(g.got.String(), "after close") {
		t.Error("a write after Close reached the destination")
	}
}

// TestConcurrentWriters: lines written from many goroutines arrive whole
// and all of them, when the destination keeps up.
func TestConcurrentWriters(t *testing.T) {
	var mu sync.Mutex
	var out bytes.Buffer
	a := New(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return out.Write(p)
	}), 1<<20)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				fmt.Fprintf(a, "g%d i%03d\n", g, i)
			}
		}()
	}
	wg.Wait()
	a.Close()
	if a.Dropped() != 0 {
		t.Fatalf("dropped %d lines with a 1 MiB buffer", a.Dropped())
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		seen[l] = true
	}
	for g := range 8 {
		for i := range 500 {
			if l := fmt.Sprintf("g%d i%03d", g, i); !seen[l] {
				t.Fatalf("line %q missing or torn", l)
			}
		}
	}
	if len(seen) != 8*500 {
		t.Errorf("%d distinct lines; want %d", len(seen), 8*500)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

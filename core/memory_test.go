package core_test

import (
	"bufio"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wsproxy/core"
	"wsproxy/internal/gcidle"
	"wsproxy/internal/testutil"
)

// TestAfterReleaseFollowsBurst: once a burst of new connections is over,
// the server gives the heap's free pages back and then runs
// Options.AfterRelease (cmd drops the executable's pages there). The
// releaser's period and burst size are shortened; the test waits for the
// call, bounded only as a guard against a hang.
func TestAfterReleaseFollowsBurst(t *testing.T) {
	var freed atomic.Int32
	restore := core.ShortenMemoryRelease(10*time.Millisecond, 3, func() { freed.Add(1) })
	defer restore()
	e := startEcho(t, "e1")
	after := make(chan struct{})
	var once sync.Once
	_, addr := startProxyOpts(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - path: /
    upstream: %q
`, e.Addr().String()), core.Options{Logger: testutil.Logger(t), AfterRelease: func() {
		if freed.Load() == 0 {
			t.Error("AfterRelease ran before the heap's pages were given back")
		}
		once.Do(func() { close(after) })
	}})
	for range 3 {
		c := dialRaw(t, addr)
		writeAll(t, c, upgradeRequest("/", "example.com"))
		if head := readHead(t, bufio.NewReader(c)); len(head) < 12 || head[9:12] != "101" {
			t.Fatalf("handshake: %q", head)
		}
		c.Close()
	}
	select {
	case <-after:
	case <-time.After(30 * time.Second):
		t.Fatalf("no release after a burst of 3 connections (releases: %d)", freed.Load())
	}
}

// TestIdleGCHeldWhileQuiet: with Options.IdleGC, a check of the memory
// releaser in which the process was quiet, and had made little garbage
// since its last collection, holds the collector (internal/gcidle); the
// hold ends at the first collection.
func TestIdleGCHeldWhileQuiet(t *testing.T) {
	restore := core.ShortenMemoryRelease(10*time.Millisecond, 1<<40, func() {})
	defer restore()
	held, left := make(chan struct{}, 1), make(chan bool, 1)
	h := &gcidle.Hold{
		Held: func() {
			select {
			case held <- struct{}{}:
			default:
			}
		},
		Left: func(c bool) {
			select {
			case left <- c:
			default:
			}
		},
	}
	t.Cleanup(func() { h.Off() })
	e := startEcho(t, "e1")
	startProxyOpts(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes:
  - path: /
    upstream: %q
`, e.Addr().String()), core.Options{Logger: testutil.Logger(t), IdleGC: h})
	// A quiet process is held only with less than gcidle.Budget of garbage
	// since its last collection, and the test binary makes garbage of its
	// own: collect, and again whenever a few checks went by without a hold.
	give := time.After(30 * time.Second)
	for waiting := true; waiting; {
		runtime.GC()
		select {
		case <-held:
			waiting = false
		case <-time.After(100 * time.Millisecond):
		case <-give:
			t.Fatalf("the collector was not held after quiet checks (%d B of garbage)", gcidle.Garbage())
		}
	}
	runtime.GC()
	runtime.GC()
	select {
	case <-left:
	case <-time.After(30 * time.Second):
		t.Fatal("a collection did not end the hold")
	}
}

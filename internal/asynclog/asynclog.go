// Package asynclog is an io.Writer for log lines that never makes its
// caller wait for the destination.
//
// wsproxy logs from its event loops (a line when a WebSocket is upgraded,
// one when it closes, every 5xx it answers). Written straight to stderr, a
// slow reader of that stderr (a journald under pressure, a full pipe, a
// terminal scrolled back) would stall the loop and every connection on it.
// A Writer copies each line into a bounded buffer and returns; one
// goroutine writes the buffer out. When the buffer is full the line is
// dropped and counted, and the next write that gets through is preceded by
// a line saying how many were lost: a proxy drops log lines before it
// delays traffic, as HAProxy's ring buffers do.
package asynclog

import (
	"fmt"
	"io"
	"sync"
)

// Writer is an asynchronous, bounded io.Writer. Its methods are safe for
// concurrent use. Each Write should be one whole line (log/slog handlers
// write a record per call), so that a dropped write loses whole lines.
type Writer struct {
	w   io.Writer
	max int

	mu      sync.Mutex
	buf     []byte // bytes waiting for the writer goroutine
	dropped uint64 // lines dropped since the last report
	total   uint64 // lines dropped since New
	closed  bool

	wake chan struct{} // capacity 1: there is something to write
	done chan struct{} // closed when the writer goroutine has returned
}

// New returns a Writer that writes to w through a buffer of size bytes
// (at least 4 KiB) and starts its goroutine; Close stops it.
func New(w io.Writer, size int) *Writer {
	a := &Writer{w: w, max: max(size, 4<<10), wake: make(chan struct{}, 1), done: make(chan struct{})}
	go a.run()
	return a
}

// Write queues p and returns at once: len(p), nil even when p is dropped
// because the buffer is full or the Writer is closed.
func (a *Writer) Write(p []byte) (int, error) {
	a.mu.Lock()
	if a.closed || len(a.buf)+len(p) > a.max {
		a.dropped++
		a.total++
		a.mu.Unlock()
		return len(p), nil
	}
	a.buf = append(a.buf, p...)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default: // the goroutine is already due to write
	}
	return len(p), nil
}

// Dropped reports how many writes were dropped since New.
func (a *Writer) Dropped() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}

// Close writes out what is buffered, stops the goroutine and waits for it.
// Later writes are dropped. Call it before the process exits.
func (a *Writer) Close() error {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		<-a.done
		return nil
	}
	a.closed = true
	a.mu.Unlock()
	close(a.wake)
	<-a.done
	return nil
}

// run writes the buffer out whenever it is woken, swapping it for a spare
// so that writers fill one while the other goes out. The spare keeps its
// capacity, bounded by max, so a steady stream of lines allocates nothing.
func (a *Writer) run() {
	defer close(a.done)
	var spare []byte
	for range a.wake {
		spare = a.flush(spare)
	}
	a.flush(spare) // what came in since the last wake-up
}

func (a *Writer) flush(spare []byte) []byte {
	a.mu.Lock()
	out, dropped := a.buf, a.dropped
	a.buf, a.dropped = spare[:0], 0
	a.mu.Unlock()
	if len(out) > 0 {
		_, _ = a.w.Write(out)
	}
	if dropped > 0 { // after out: the lines were dropped because out filled the buffer
		fmt.Fprintf(a.w, "asynclog: %d log lines dropped: the log destination is slower than the lines come\n", dropped)
	}
	return out
}

package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress writes a status line while a trial runs and a summary line when
// it ends. On a terminal the status line is rewritten in place; elsewhere
// (CI logs) it is printed at most every five seconds.
type progress struct {
	mu    sync.Mutex
	w     io.Writer // nil: no output
	tty   bool
	label string
	last  time.Time
	width int // of the status line on screen, to blank it
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil {
			p.tty = fi.Mode()&os.ModeCharDevice != 0
		}
	}
	return p
}

// begin names the trial that the following status lines are about.
func (p *progress) begin(label string) {
	p.mu.Lock()
	p.label = label
	p.last = time.Time{}
	p.mu.Unlock()
	p.status("starting")
}

// status shows a status line, throttled; an empty one is nothing to
// report and is not shown.
func (p *progress) status(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if p.w == nil || msg == "" {
		return
	}
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if now := time.Now(); now.Sub(p.last) >= every {
		p.last = now
		p.put(fmt.Sprintf("[%s] %s", p.label, msg), false)
	}
}

// end prints the trial's summary line.
func (p *progress) end(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.w != nil {
		p.put(fmt.Sprintf("[%s] %s", p.label, fmt.Sprintf(format, args...)), true)
	}
}

func (p *progress) put(line string, final bool) {
	switch {
	case !p.tty:
		fmt.Fprintln(p.w, line)
	case final:
		fmt.Fprintf(p.w, "\r%-*s\n", p.width, line)
		p.width = 0
	default:
		fmt.Fprintf(p.w, "\r%-*s", p.width, line)
		p.width = max(p.width, len(line))
	}
}

// summary is the one-line outcome of t for the progress output.
func summary(t Trial) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in %v", map[bool]string{true: "FAILED", false: "done"}[t.Err != ""], t.Elapsed.Round(time.Millisecond))
	switch {
	case t.Err != "":
		fmt.Fprintf(&b, ": %s", firstLine(t.Err))
	case t.Skipped != "":
		fmt.Fprintf(&b, ": skipped")
	case t.Scenario == Idle:
		fmt.Fprintf(&b, ": %d up, %d dropped, RSS %s -> %s (end of hold %s), %.0f B/conn", t.Up, t.Dropped,
			mib(t.Before.RSS), mib(t.Loaded.RSS), mib(t.HoldEnd.RSS), t.BytesPerConn)
	case t.Scenario == Flood && t.Flood != nil:
		fmt.Fprintf(&b, ": pushed %s, RSS %s..%s", mib(t.Flood.Pushed), mib(t.Flood.Min), mib(t.Flood.Max))
	case t.Scenario == Ramp:
		fmt.Fprintf(&b, ": %d up, %.0f handshakes/s, proxy CPU %s per handshake", t.Up, t.HandshakesPerSec, dur(t.CPUPerHandshake))
	case t.Scenario == Echo:
		fmt.Fprintf(&b, ": %.0f round trips/s, RTT p99 %s, proxy CPU %s per message", t.MsgsPerSec, dur(t.RTT.P99), dur(t.CPUPerMsg))
	case t.Scenario == Bulk && t.Proxy == Direct:
		fmt.Fprintf(&b, ": %.1f MB/s", t.MBPerSec)
	case t.Scenario == Bulk:
		fmt.Fprintf(&b, ": %.1f MB/s, proxy CPU %s per MB", t.MBPerSec, dur(t.CPUPerMB))
	case t.Scenario == Resume && t.Resume != nil:
		rs := t.Resume
		fmt.Fprintf(&b, ": %d up, %d of %d reconnections resumed; proxy CPU %s per full, %s per reconnection",
			t.Up, rs.Resumed, rs.Reconnected, dur(rs.CPUPerFull), dur(rs.CPUPerReconnect))
	}
	return b.String()
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

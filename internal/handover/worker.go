package handover

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// Proxy is what a worker hands over from and takes into: core.Server.
type Proxy interface {
	Source
	Sink
	// StopAccepting closes the listeners: a worker handing over stops
	// starting tunnels, which the new generation serves now.
	StopAccepting()
}

// Report is an old worker's answer to its master once it has handed
// over: what moved and what it keeps. It travels as JSON.
type Report struct {
	Sent

	// Kept counts the tunnels still open in the old worker afterwards:
	// the ones Sent counts as refused or waiting, TLS tunnels, tunnels
	// closing. They drain.
	Kept int `json:"kept"`

	// Took is how long the hand-over took.
	Took time.Duration `json:"took"`

	// Err says why the hand-over ended early (the receiving worker
	// failed); empty when it did not.
	Err string `json:"err,omitempty"`
}

// Worker is a worker process's side of the hand-over: the handlers of its
// master's requests (the master pairs an old worker with a new one and
// gives each an end of a socket pair) and the counts its metrics report.
type Worker struct {
	Proxy Proxy
	Log   *slog.Logger

	// Window bounds how long Send waits for tunnels inside a frame or with
	// output queued. Zero: DefaultWindow.
	Window time.Duration

	// Reserve is the number of descriptors a receiving worker keeps free
	// under its open-files limit (listeners, pipes, new clients). Zero:
	// DefaultReserve.
	Reserve int

	// Tunnels counts the tunnels the proxy has open, for Report.Kept.
	// Nil: Kept is not reported.
	Tunnels func() int

	received, refused atomic.Uint64
}

// Defaults of Worker.
const (
	DefaultWindow  = 5 * time.Second
	DefaultReserve = 1024
)

// Send hands the proxy's tunnels over to the receiver on the socket f
// (which Send closes) and returns the Report for the master, Err set if
// the receiver failed part way. The proxy stops accepting first. The
// error is for a socket Send cannot use.
func (w *Worker) Send(f *os.File) (Report, error) {
	defer f.Close()
	c, err := NewConn(f)
	if err != nil {
		return Report{}, err
	}
	defer c.Close()
	window := w.Window
	if window <= 0 {
		window = DefaultWindow
	}
	start := time.Now()
	c.SetDeadline(start.Add(window + 30*time.Second)) // a receiver that stops answering
	w.Proxy.StopAccepting()
	sent, err := Send(c, w.Proxy, window)
	r := Report{Sent: sent, Took: time.Since(start)}
	if w.Tunnels != nil {
		r.Kept = w.Tunnels()
	}
	attrs := []any{"handed_over", r.HandedOver, "kept", r.Kept, "refused", r.Refused, "waiting", r.Waiting,
		"took", r.Took.Round(time.Millisecond)}
	if err != nil {
		r.Err = err.Error()
		w.Log.Error("handover: the receiving worker failed; the tunnels not acknowledged stay here", append(attrs, "err", err)...)
		return r, nil
	}
	w.Log.Info("tunnels handed over", attrs...)
	return r, nil
}

// Receive takes tunnels from the sender on the socket f (which it closes),
// in a goroutine of its own, and returns at once.
func (w *Worker) Receive(f *os.File) error {
	c, err := NewConn(f)
	f.Close()
	if err != nil {
		return err
	}
	reserve := w.Reserve
	if reserve <= 0 {
		reserve = DefaultReserve
	}
	go func() {
		defer c.Close()
		start := time.Now()
		r, err := Receive(c, w.Proxy, func() int { return Room(reserve) })
		w.received.Add(uint64(r.Imported))
		w.refused.Add(uint64(r.Refused))
		attrs := []any{"received", r.Imported, "refused", r.Refused, "took", time.Since(start).Round(time.Millisecond)}
		if err != nil {
			w.Log.Warn("handover: receiving ended early", append(attrs, "err", err)...)
			return
		}
		w.Log.Info("tunnels received", attrs...)
	}()
	return nil
}

// Counts returns the tunnels this worker received and refused so far.
func (w *Worker) Counts() (received, refused uint64) { return w.received.Load(), w.refused.Load() }

// EncodeReport and DecodeReport carry a Report in a control message.
func EncodeReport(r Report) []byte {
	b, _ := json.Marshal(r) // plain fields: cannot fail
	return b
}

func DecodeReport(b []byte) (Report, error) {
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return Report{}, fmt.Errorf("handover: report %q: %w", b, err)
	}
	return r, nil
}

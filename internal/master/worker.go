package master

import (
	"errors"
	"fmt"
	"os"

	"wsproxy/config"
	"wsproxy/internal/control"
)

// EnvWorker is the environment variable that marks a worker process. Its
// value is "GENERATION.SLOT", for example "2.0" for the first worker of the
// second generation.
const EnvWorker = "WSPROXY_WORKER"

// The descriptors a worker inherits from its master.
const (
	readyFD = 3 // pipe: the worker writes readyLine once it is listening
	specFD  = 4 // file: the generation's Spec, JSON
	sidFD   = 5 // file: the shared sid table (internal/sidshm), when Spec.SidTable; closed otherwise
	ctlFD   = 6 // unix SOCK_SEQPACKET socket: the control channel to the master (internal/control)
)

// readyLine is what a worker writes on its ready pipe; listenersLine
// follows it when the worker serves on the listening sockets its master
// handed it (Listeners).
const (
	readyLine     = "ready"
	listenersLine = "listeners"
)

// Worker is the worker side of a master: which generation and slot this
// process is, and the Spec its master handed it.
type Worker struct {
	Gen, Slot int
	Spec      Spec

	// SidTable is the Engine.IO sid table the master shares between all
	// its workers (internal/sidshm), or nil when the generation's
	// configuration has no upstream with balance: sid. Map it with
	// sidshm.Open; the worker owns the descriptor.
	SidTable *os.File

	// Listeners holds, for each configured listener, the descriptors of
	// the listening sockets the master handed this worker (listeners.go),
	// for core.Options.Listeners; nil when the master handed none.
	Listeners [][]int

	ready *os.File
	ctl   *control.Peer
}

// FromEnv returns the Worker this process is, or nil when it was not
// started by a master.
func FromEnv() (*Worker, error) {
	v, ok := os.LookupEnv(EnvWorker)
	if !ok {
		return nil, nil
	}
	w := &Worker{}
	if _, err := fmt.Sscanf(v, "%d.%d", &w.Gen, &w.Slot); err != nil {
		return nil, fmt.Errorf("master: %s=%q: want GENERATION.SLOT", EnvWorker, v)
	}
	f := os.NewFile(specFD, "spec")
	sp, err := readSpec(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("master: worker %s: read spec: %w", w.Name(), err)
	}
	w.Spec = sp
	if sp.SidTable {
		w.SidTable = os.NewFile(sidFD, "sid-table")
	}
	if v, ok := os.LookupEnv(EnvListenFDs); ok {
		if w.Listeners, err = parseListenFDs(v, len(sp.Listen)); err != nil {
			return nil, fmt.Errorf("master: worker %s: %w", w.Name(), err)
		}
	}
	w.ready = os.NewFile(readyFD, "ready")
	// A master that predates the control channel (the worker is a new
	// binary it started) passes no descriptor 6: the worker then serves
	// without one, and the master reloads it by a new generation.
	if c, err := control.FromFD(ctlFD, "control"); err == nil {
		w.ctl = control.NewPeer(c)
	}
	return w, nil
}

// Control is the worker's end of the control channel to its master, or
// nil when the master passed none. The worker registers a handler for
// each message type it serves, then starts it; it is not started yet.
func (w *Worker) Control() *control.Peer { return w.ctl }

// Name is "GENERATION.SLOT", as in log lines.
func (w *Worker) Name() string { return fmt.Sprintf("%d.%d", w.Gen, w.Slot) }

// Config returns the configuration the worker serves: the master's
// validated bytes parsed again, or, when the master had none (quick mode),
// what fromFlags builds. Either way the listen addresses are the ones the
// master fixed.
func (w *Worker) Config(fromFlags func() (Source, error)) (*config.Config, error) {
	var cfg *config.Config
	if w.Spec.Data != nil {
		c, err := config.Parse(w.Spec.Name, w.Spec.Data)
		if err != nil {
			return nil, err
		}
		cfg = c
	} else {
		src, err := fromFlags()
		if err != nil {
			return nil, err
		}
		cfg = src.Config
	}
	if len(cfg.Listen) != len(w.Spec.Listen) {
		return nil, fmt.Errorf("master: worker %s: %d listeners configured but the master fixed %d addresses",
			w.Name(), len(cfg.Listen), len(w.Spec.Listen))
	}
	for i, a := range w.Spec.Listen {
		cfg.Listen[i].Addr = a
	}
	return cfg, nil
}

// Ready tells the master that this worker is listening. Call it once, after
// every listener is bound; the master waits for it before it stops the
// previous generation.
func (w *Worker) Ready() error {
	if w.ready == nil {
		return errors.New("master: Ready called twice")
	}
	line := readyLine + "\n"
	if w.Listeners != nil {
		line += listenersLine + "\n"
	}
	_, err := w.ready.WriteString(line)
	if cerr := w.ready.Close(); err == nil {
		err = cerr
	}
	w.ready = nil
	return err
}

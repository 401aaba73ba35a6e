package master

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"wsproxy/config"
	"wsproxy/internal/control"
	"wsproxy/internal/handover"
)

// Restart delays of a worker slot: the first restart waits backoffMin, each
// further one twice as long up to backoffMax, and a worker that lived
// backoffReset or longer starts the sequence again.
const (
	backoffMin   = 100 * time.Millisecond
	backoffMax   = 10 * time.Second
	backoffReset = 30 * time.Second
)

// generation is the set of workers started from one configuration.
type generation struct {
	n       int
	spec    Spec
	file    *os.File        // the encoded spec, inherited by every worker
	workers []*worker       // by slot; nil while a slot waits to be restarted
	backoff []time.Duration // by slot: the delay before the last restart
	timer   *time.Timer     // the ready timeout while the generation starts
	retired bool            // told to stop; its workers are not replaced
	drain   time.Duration   // the configuration's drain_timeout
	all     []*worker       // every worker started, for signals and counting
	handing int             // retired: workers whose hand-over has not answered yet (handover.go)
	exe     exeID           // the binary its workers were started from
	cfg     *config.Config  // the configuration it serves, as the master validated it
	socks   [][]*lsock      // by listener: the listening sockets its workers share (listeners.go)
}

// worker is one worker process.
type worker struct {
	g       *generation
	slot    int
	pid     int
	cmd     *exec.Cmd
	started time.Time
	ready   bool
	exited  bool
	ctl     *control.Peer // the master's end of the worker's control channel
}

func (w *worker) name() string { return fmt.Sprintf("%d.%d", w.g.n, w.slot) }

// event is what the watchers and timers report to Run.
type event struct {
	kind eventKind
	w    *worker     // evReady, evExit, evHandedOver (the old worker)
	took bool        // evReady: the worker serves on the listening sockets it was given
	err  error       // evExit: the result of cmd.Wait; evHandedOver: why it failed
	g    *generation // evRestart, evTimeout
	slot int         // evRestart

	applied *applied   // evApplied
	bc      *broadcast // evBroadcast

	to     *worker // evHandedOver: the new worker
	report handover.Report
}

type eventKind uint8

const (
	evReady      eventKind = iota // a worker wrote its ready line
	evExit                        // a worker process ended
	evRestart                     // a slot's restart delay is over
	evTimeout                     // a starting generation ran out of time
	evApplied                     // an in-place reload is over (inplace.go)
	evHandedOver                  // an old worker answered MsgHandoverSend (or failed to)
	evBroadcast                   // Broadcast wants the serving workers (control.go)
)

// startGeneration starts the workers of a new generation for src and makes
// it the one awaited (m.next).
func (m *Master) startGeneration(src Source) (err error) {
	defer func() {
		if err != nil {
			m.prunePorts() // the reservations and sockets opened for it, if no one else uses them
		}
	}()
	spec, err := m.specFor(src)
	if err != nil {
		return err
	}
	if spec.SidTable, err = m.sidTable(src.Config); err != nil {
		return err
	}
	socks, err := m.listenSockets(spec, src.Config)
	if err != nil {
		return err
	}
	file, err := spec.file()
	if err != nil {
		return err
	}
	m.last++
	g := &generation{n: m.last, spec: spec, file: file, cfg: src.Config, socks: socks,
		workers: make([]*worker, spec.Workers), backoff: make([]time.Duration, spec.Workers),
		drain: time.Duration(src.Config.DrainTimeout)}
	g.exe, _ = statExe(m.cfg.Path) // a binary that cannot be read fails to start below
	m.gens = append(m.gens, g)
	m.next = g
	m.log.Info("starting workers", "generation", g.n, "workers", spec.Workers, "config", src.Name)
	for slot := range g.workers {
		if err := m.startWorker(g, slot); err != nil {
			m.abandon(g, err)
			return err
		}
	}
	g.timer = m.after(m.cfg.ReadyTimeout, event{kind: evTimeout, g: g})
	return nil
}

// startWorker starts the worker process of one slot and a goroutine that
// watches it. A failure to start a replacement is retried after a delay.
func (m *Master) startWorker(g *generation, slot int) error {
	r, wr, err := os.Pipe()
	if err != nil {
		return m.startFailed(g, slot, err)
	}
	mine, theirs, err := control.Pair()
	if err != nil {
		r.Close()
		wr.Close()
		return m.startFailed(g, slot, err)
	}
	ctlFile, err := theirs.File()
	theirs.Close()
	if err != nil {
		r.Close()
		wr.Close()
		mine.Close()
		return m.startFailed(g, slot, err)
	}
	cmd := exec.Command(m.cfg.Path, m.cfg.Args...)
	cmd.Env = append(append([]string(nil), m.cfg.Env...), fmt.Sprintf("%s=%d.%d", EnvWorker, g.n, slot))
	cmd.Stdout, cmd.Stderr = m.cfg.Stdout, m.cfg.Stderr
	// Descriptors 3 (readyFD), 4 (specFD), 5 (sidFD, closed in the worker
	// without a sid table) and 6 (ctlFD).
	var sids *os.File
	if g.spec.SidTable {
		sids = m.sids
	}
	cmd.ExtraFiles = []*os.File{wr, g.file, sids, ctlFile}
	// Then its listening sockets, from descriptor 7 on (listeners.go).
	lns, fds, err := m.slotSockets(g, slot)
	if err != nil {
		r.Close()
		wr.Close()
		mine.Close()
		ctlFile.Close()
		return m.startFailed(g, slot, err)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, lns...)
	cmd.Env = append(cmd.Env, EnvListenFDs+"="+fds)
	cmd.SysProcAttr = sysProcAttr()
	err = cmd.Start()
	wr.Close()
	ctlFile.Close()
	if err != nil {
		r.Close()
		mine.Close()
		return m.startFailed(g, slot, err)
	}
	w := &worker{g: g, slot: slot, pid: cmd.Process.Pid, cmd: cmd, started: time.Now(), ctl: control.NewPeer(mine)}
	w.ctl.Start()
	g.workers[slot] = w
	g.all = append(g.all, w)
	m.log.Info("worker started", "worker", w.name(), "pid", w.pid)
	go m.watch(w, r)
	return nil
}

// startFailed reports a worker that could not be started. In a serving
// generation the slot is tried again after its restart delay.
func (m *Master) startFailed(g *generation, slot int, err error) error {
	err = fmt.Errorf("start worker %d.%d: %w", g.n, slot, err)
	if g == m.cur {
		d := g.nextBackoff(slot, 0)
		m.log.Error("cannot start worker; trying again", "err", err, "in", d)
		m.after(d, event{kind: evRestart, g: g, slot: slot})
	}
	return err
}

// watch reads a worker's ready line, then waits for the process to end,
// and reports both to Run in that order. The pipe reaches EOF when the
// worker closes it or exits.
func (m *Master) watch(w *worker, r *os.File) {
	br := bufio.NewReader(r)
	line, _ := br.ReadString('\n')
	if strings.TrimSpace(line) == readyLine {
		// A worker that took its listening sockets says so on the next
		// line; one of an older binary closes the pipe (listeners.go).
		next, _ := br.ReadString('\n')
		m.send(event{kind: evReady, w: w, took: strings.TrimSpace(next) == listenersLine})
		_, _ = br.ReadString('\n') // until EOF
	}
	r.Close()
	err := w.cmd.Wait()
	w.ctl.Close() // a Call waiting on the worker fails now
	m.send(event{kind: evExit, w: w, err: err})
}

// nextBackoff returns how long slot waits before its next restart, given
// how long the worker that just ended lived.
func (g *generation) nextBackoff(slot int, lived time.Duration) time.Duration {
	d := nextBackoff(g.backoff[slot], lived)
	g.backoff[slot] = d
	return d
}

// nextBackoff returns the restart delay following prev for a worker that
// lived for lived.
func nextBackoff(prev, lived time.Duration) time.Duration {
	if prev == 0 || lived >= backoffReset {
		return backoffMin
	}
	return min(2*prev, backoffMax)
}

// signal sends s to every live worker of the generation.
func (g *generation) signal(s os.Signal, log *slog.Logger) {
	for _, w := range g.all {
		if w.exited {
			continue
		}
		if err := w.cmd.Process.Signal(s); err != nil && !errors.Is(err, os.ErrProcessDone) {
			log.Warn("cannot signal worker", "worker", w.name(), "pid", w.pid, "signal", s.String(), "err", err)
		}
	}
}

// live counts the generation's workers that have not exited.
func (g *generation) live() int {
	n := 0
	for _, w := range g.all {
		if !w.exited {
			n++
		}
	}
	return n
}

// readyCount counts the slots whose current worker is ready.
func (g *generation) readyCount() int {
	n := 0
	for _, w := range g.workers {
		if w != nil && w.ready && !w.exited {
			n++
		}
	}
	return n
}

// addrs lists the generation's listen addresses for log lines.
func (g *generation) addrs() string { return strings.Join(g.spec.Listen, ",") }

func (g *generation) stopTimer() {
	if g.timer != nil {
		g.timer.Stop()
	}
}

// close releases the spec file once no worker will be started from it.
func (g *generation) close() {
	g.stopTimer()
	if g.file != nil {
		g.file.Close()
		g.file = nil
	}
}

// exitStatus describes the result of cmd.Wait: "exit status 1",
// "signal: killed".
func exitStatus(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.String()
	}
	return err.Error()
}

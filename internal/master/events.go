package master

import (
	"fmt"
	"slices"
	"syscall"
	"time"
)

// onEvent handles a report from a worker's watcher or a timer.
func (m *Master) onEvent(ev event) {
	switch ev.kind {
	case evReady:
		if !ev.took && m.ignoredSockets(ev.w) {
			return
		}
		m.onReady(ev.w)
	case evExit:
		m.onExit(ev.w, ev.err)
	case evRestart:
		if !m.stopping && ev.g == m.cur && ev.g.workers[ev.slot] == nil {
			m.startWorker(ev.g, ev.slot)
		}
	case evHandedOver:
		m.handedOver(ev)
	case evTimeout:
		if ev.g == m.next {
			m.abandon(ev.g, fmt.Errorf("not all workers ready after %s", m.cfg.ReadyTimeout))
		}
	case evApplied:
		m.onApplied(ev.applied)
	case evBroadcast:
		m.onBroadcast(ev.bc)
	}
}

// onReady promotes a starting generation once all its workers are ready.
func (m *Master) onReady(w *worker) {
	w.ready = true
	g := w.g
	m.log.Info("worker ready", "worker", w.name(), "pid", w.pid)
	if g != m.next || g.readyCount() < len(g.workers) {
		return
	}
	g.stopTimer()
	old := m.cur
	m.cur, m.next = g, nil
	m.prunePorts()
	m.log.Info("generation serving", "generation", g.n, "workers", len(g.workers), "addrs", g.addrs())
	if m.cfg.Serving != nil {
		m.cfg.Serving(slices.Clone(g.spec.Listen))
	}
	if old != nil {
		m.handOver(old, g) // then SIGTERM: it drains what it kept
	}
}

// onExit handles the end of a worker process.
func (m *Master) onExit(w *worker, err error) {
	w.exited = true
	g := w.g
	lived := time.Since(w.started)
	attrs := []any{"worker", w.name(), "pid", w.pid, "status", exitStatus(err), "lived", lived.Round(time.Millisecond)}
	switch {
	case m.stopping || g.retired:
		m.log.Info("worker exited", attrs...)
		m.forget(g)
	case g == m.next:
		m.log.Error("worker exited before its generation was ready", attrs...)
		m.abandon(g, fmt.Errorf("worker %s exited: %s", w.name(), exitStatus(err)))
	case g == m.cur:
		g.workers[w.slot] = nil
		m.dropSlot(g, w.slot)
		d := g.nextBackoff(w.slot, lived)
		m.log.Warn("worker exited; restarting", append(attrs, "in", d)...)
		m.after(d, event{kind: evRestart, g: g, slot: w.slot})
	default: // every generation is serving, starting or retired; kept for safety
		m.log.Warn("worker of an unknown generation exited", attrs...)
	}
}

// abandon gives up a generation that could not start. Without a serving
// generation to fall back on, the master stops with err.
func (m *Master) abandon(g *generation, err error) {
	m.next = nil
	g.stopTimer()
	m.retire(g)
	m.prunePorts()
	if m.cur == nil {
		m.log.Error("workers could not start; stopping", "generation", g.n, "err", err)
		m.err = fmt.Errorf("workers could not start: %w", err)
		m.stop()
		return
	}
	m.log.Error("reload abandoned; the previous generation keeps serving",
		"generation", g.n, "serving", m.cur.n, "err", err)
}

// retire sends SIGTERM to a generation's workers; they are not replaced.
func (m *Master) retire(g *generation) {
	g.retired = true
	g.signal(syscall.SIGTERM, m.log)
	m.forget(g)
}

// forget drops a retired generation whose workers have all exited.
func (m *Master) forget(g *generation) {
	if !g.retired && !m.stopping || g.live() > 0 {
		return
	}
	i := slices.Index(m.gens, g)
	if i < 0 {
		return // forgotten already
	}
	m.gens = slices.Delete(m.gens, i, i+1)
	g.close()
	if !m.stopping {
		m.log.Info("generation finished", "generation", g.n)
	}
}

// after sends ev to Run after d, unless Run has returned by then.
func (m *Master) after(d time.Duration, ev event) *time.Timer {
	return time.AfterFunc(d, func() { m.send(ev) })
}

// send delivers ev to Run, or drops it if Run has returned.
func (m *Master) send(ev event) {
	select {
	case m.events <- ev:
	case <-m.done:
	}
}

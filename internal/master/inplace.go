package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"wsproxy/config"
	"wsproxy/internal/reload"
)

// Reloads in place.
//
// On SIGHUP the master compares the new configuration with the one its
// serving generation runs (internal/reload). When only what the workers
// can change inside themselves differs (routes, upstreams, timeouts,
// limits, policies, logging, certificates), it sends the file to every
// worker of that generation over its control channel (MsgApply) and waits
// for all the answers; no process starts or stops and no connection is
// closed. All or nothing: if any worker refuses, the ones that applied are
// sent the previous configuration again, and the reload is refused as a
// bad file is. A change of listen, workers, loops or admin, or a worker
// without a control channel, starts a new generation as before.
//
// The work runs on a goroutine that reports to Run (evApplied), so the
// master keeps supervising meanwhile; a SIGHUP that arrives during it is
// handled once it is over.

// ApplyRequest is the body of MsgApply: a configuration file, as in Spec.
type ApplyRequest struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
}

// Results of a reload, as Config.Reloaded receives them.
const (
	ReloadApplied    = "applied"    // applied in place by every worker
	ReloadGeneration = "generation" // a new generation of workers started
	ReloadRefused    = "refused"    // a bad file, or a worker refused it: nothing changed
)

// applyTimeout bounds the wait for the workers' answers to MsgApply.
const applyTimeout = 30 * time.Second

// applied is what an in-place reload reports to Run.
type applied struct {
	g    *generation
	src  Source
	diff reload.Diff
	err  error // why it was refused; nil: every worker applied it
}

// inPlace reports whether src can be applied to the serving generation
// without a new one, and what changes.
func (m *Master) inPlace(src Source) (reload.Diff, bool) {
	g := m.cur
	if g == nil || m.next != nil || src.Data == nil || g.cfg == nil {
		return reload.Diff{}, false
	}
	d := reload.Compare(g.cfg, src.Config)
	// The -workers flag overrides the file: what counts is the number of
	// processes.
	d.Generation = removeField(d.Generation, "workers")
	if spec, err := m.workerCount(src.Config); err != nil || spec != g.spec.Workers {
		d.Generation = append(d.Generation, "workers")
	}
	if m.binaryChanged() { // an upgrade: new processes, tunnels handed over
		d.Generation = append(d.Generation, "binary")
	}
	if len(d.Generation) > 0 {
		return d, false
	}
	for _, w := range g.workers {
		if w == nil || w.exited || w.ctl == nil {
			return d, false
		}
	}
	return d, true
}

func (m *Master) workerCount(c *config.Config) (int, error) {
	if m.cfg.Workers > 0 {
		return m.cfg.Workers, nil
	}
	return max(c.Workers, 1), nil
}

func removeField(list []string, f string) []string {
	out := list[:0:0]
	for _, s := range list {
		if s != f {
			out = append(out, s)
		}
	}
	return out
}

// applyInPlace sends src to every worker of g and reports to Run. It runs
// on its own goroutine.
func (m *Master) applyInPlace(g *generation, src Source, d reload.Diff) {
	body, _ := json.Marshal(ApplyRequest{Name: src.Name, Data: src.Data})
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	var ws []*worker
	for _, w := range g.workers {
		ws = append(ws, w)
	}
	answers := callAll(ctx, ws, MsgApply, body)
	var refused []string
	var done []*worker
	for _, a := range answers {
		if a.err != nil {
			refused = append(refused, fmt.Sprintf("worker %s: %v", a.w.name(), a.err))
		} else {
			done = append(done, a.w)
		}
	}
	res := applied{g: g, src: src, diff: d}
	if len(refused) > 0 {
		res.err = errors.New(strings.Join(refused, "; "))
		if len(done) > 0 {
			// All or nothing: the workers that applied go back.
			back, _ := json.Marshal(ApplyRequest{Name: g.spec.Name, Data: g.spec.Data})
			for _, a := range callAll(ctx, done, MsgApply, back) {
				if a.err != nil {
					m.log.Error("worker could not go back to the previous configuration; restarting it",
						"worker", a.w.name(), "err", a.err)
					a.w.cmd.Process.Kill() // its replacement starts from the spec
				}
			}
		}
	}
	m.send(event{kind: evApplied, applied: &res})
}

// onApplied ends an in-place reload.
func (m *Master) onApplied(res *applied) {
	m.applying = false
	g := res.g
	switch {
	case res.err != nil:
		m.log.Error("reload refused by the workers; they keep the previous configuration", "err", res.err)
		m.reloaded(ReloadRefused)
	case g.retired:
		m.log.Warn("reload applied to a generation that has since been retired", "generation", g.n)
	default:
		if err := g.respec(res.src); err != nil {
			// Workers started later would get the previous file: start
			// a generation instead, which writes a new spec.
			m.log.Error("cannot record the applied configuration for restarted workers", "err", err)
		}
		m.version++
		m.log.Info("configuration applied in place", append([]any{"generation", g.n, "config", res.src.Name,
			"version", m.version}, res.diff.Attrs()...)...)
		m.reloaded(ReloadApplied)
	}
	if m.pending {
		m.pending = false
		m.reload()
	}
}

// respec makes src the configuration g's workers start with from now on.
func (g *generation) respec(src Source) error {
	sp := g.spec
	sp.Name, sp.Data = src.Name, src.Data
	f, err := sp.file()
	if err != nil {
		return err
	}
	if g.file != nil {
		g.file.Close()
	}
	g.spec, g.file, g.cfg = sp, f, src.Config
	g.drain = time.Duration(src.Config.DrainTimeout)
	return nil
}

// reloaded tells Config.Reloaded about a reload's result.
func (m *Master) reloaded(result string) {
	if m.cfg.Reloaded != nil {
		m.cfg.Reloaded(result, m.version)
	}
}

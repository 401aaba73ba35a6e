package admin

import "sync/atomic"

// Reload results, the label values of wsproxy_reloads_total.
const (
	ReloadApplied    = "applied"    // applied in place: no process started, no connection closed
	ReloadGeneration = "generation" // a new generation of workers was started
	ReloadRefused    = "refused"    // a bad file, or a worker refused it: nothing changed
)

var (
	descReloads = newDesc("wsproxy_reloads_total",
		"Configuration reloads (SIGHUP) by result: applied in place, a new generation of workers, refused (nothing changed).",
		typeCounter, "result")
	descConfigVersion = newDesc("wsproxy_config_generation",
		"The configuration served: 1 at start, one more per reload applied in place or generation started.", typeGauge)
)

// Reloads counts configuration reloads for the admin listener (Config.Reloads).
// The zero value is ready; Note is safe for concurrent use.
type Reloads struct {
	applied, generation, refused atomic.Uint64
	version                      atomic.Int64
}

// Note counts one reload's result (one of the Reload* constants; "" only
// sets the version) and records the configuration version now served.
func (r *Reloads) Note(result string, version int) {
	switch result {
	case ReloadApplied:
		r.applied.Add(1)
	case ReloadGeneration:
		r.generation.Add(1)
	case ReloadRefused:
		r.refused.Add(1)
	}
	r.version.Store(int64(version))
}

// gather adds wsproxy_reloads_total and wsproxy_config_generation.
func (r *Reloads) gather(e *exposition) {
	for _, x := range []struct {
		n     *atomic.Uint64
		label string
	}{{&r.applied, ReloadApplied}, {&r.generation, ReloadGeneration}, {&r.refused, ReloadRefused}} {
		e.value(descReloads, float64(x.n.Load()), x.label)
	}
	e.value(descConfigVersion, float64(r.version.Load()))
}

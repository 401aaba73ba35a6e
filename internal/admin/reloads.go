package admin

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Reload results, the label values of wsproxy_reloads_total.
const (
	ReloadApplied    = "applied"    // applied in place: no process started, no connection closed
	ReloadGeneration = "generation" // a new generation of workers was started
	ReloadRefused    = "refused"    // a bad file, or a worker refused it: nothing changed
)

var (
	descReloads = prometheus.NewDesc("wsproxy_reloads_total",
		"Configuration reloads (SIGHUP) by result: applied in place, a new generation of workers, refused (nothing changed).",
		[]string{"result"}, nil)
	descConfigVersion = prometheus.NewDesc("wsproxy_config_generation",
		"The configuration served: 1 at start, one more per reload applied in place or generation started.", nil, nil)
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

// Describe implements prometheus.Collector.
func (r *Reloads) Describe(ch chan<- *prometheus.Desc) {
	ch <- descReloads
	ch <- descConfigVersion
}

// Collect implements prometheus.Collector.
func (r *Reloads) Collect(ch chan<- prometheus.Metric) {
	for _, x := range []struct {
		n     *atomic.Uint64
		label string
	}{{&r.applied, ReloadApplied}, {&r.generation, ReloadGeneration}, {&r.refused, ReloadRefused}} {
		ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, float64(x.n.Load()), x.label)
	}
	ch <- prometheus.MustNewConstMetric(descConfigVersion, prometheus.GaugeValue, float64(r.version.Load()))
}

package bench

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"time"
)

// The rates of a shared machine move with whatever else runs on it; the
// CPU time a proxy spends per unit of work moves much less. Each trial's
// proxy CPU is divided by the work it did (unitCosts), and the proxies of
// one round are compared with each other: per round, and as the median
// over the rounds.

// UnitCost is what each proxy's CPU time per unit of one kind of work was
// in one round, or (Round 0) the median over the rounds.
type UnitCost struct {
	Scenario string `json:"scenario"`
	// Unit names the work, as in the Markdown table ("relayed message",
	// "WebSocket handshake", "MB echoed", ...).
	Unit  string `json:"unit"`
	Round int    `json:"round"` // 0: the median over the rounds
	// CPU is each proxy's CPU time per unit, in nanoseconds, by proxy
	// name; a proxy whose trial failed or was skipped has none.
	CPU map[string]time.Duration `json:"cpu"`
	// Ratios are CPU[a] / CPU[b] for every pair of proxies of the round,
	// a before b in the order wsproxy, nginx, haproxy, keyed "a/b": below
	// 1, a spent less. In the median row each is the median of the rounds'
	// ratios, not the ratio of the medians.
	Ratios map[string]float64 `json:"ratios,omitempty"`
}

// unitCost is one unit of work of a trial and the proxy's CPU per unit.
type unitCost struct {
	unit string
	cpu  time.Duration
}

// heldMinimum is the shortest hold whose proxy CPU is divided per
// connection and minute: /proc counts CPU in 10 ms ticks, and an idle
// proxy spends few of them.
const heldMinimum = 10 * time.Second

// unitCosts lists the units of work of t with the proxy's CPU per unit;
// tls says the clients used TLS (the handshakes are TLS handshakes too).
func unitCosts(t Trial, tls bool) []unitCost {
	switch t.Scenario {
	case Idle:
		u := []unitCost{{"idle connection brought up", t.CPUPerConn}}
		if n := len(t.Hold); n > 0 && t.Hold[n-1].At >= heldMinimum && t.Up > 0 {
			held := t.HoldEnd.CPU - t.Loaded.CPU
			perMin := time.Duration(float64(held) / float64(t.Up) * float64(time.Minute) / float64(t.Hold[n-1].At))
			u = append(u, unitCost{"idle connection held a minute", perMin})
		}
		return u
	case Ramp:
		if tls {
			return []unitCost{{"TLS + WebSocket handshake", t.CPUPerHandshake}}
		}
		return []unitCost{{"WebSocket handshake", t.CPUPerHandshake}}
	case Echo:
		return []unitCost{{"relayed message", t.CPUPerMsg}}
	case Bulk:
		return []unitCost{{"MB echoed", t.CPUPerMB}}
	case Resume:
		if t.Resume == nil {
			return nil
		}
		return []unitCost{{"full TLS connection", t.Resume.CPUPerFull}, {"reconnection (resuming)", t.Resume.CPUPerReconnect}}
	}
	return nil
}

// proxyOrder is the order of proxies in the unit tables and ratio keys.
var proxyOrder = []string{Wsproxy, Nginx, HAProxy}

// UnitCosts computes the report's unit costs: for every scenario and unit,
// a row per round, then, with more than one round, the median row. Trials
// that failed or were skipped, and costs not measured, are left out.
func (r *Report) UnitCosts() []UnitCost {
	type key struct{ sc, unit string }
	var keys []key
	rounds := map[key]map[int]map[string]time.Duration{}
	for _, t := range r.Trials {
		if t.Err != "" || t.Skipped != "" || !slices.Contains(proxyOrder, t.Proxy) {
			continue
		}
		for _, u := range unitCosts(t, r.TLS) {
			if u.cpu <= 0 {
				continue
			}
			k := key{t.Scenario, u.unit}
			if rounds[k] == nil {
				keys = append(keys, k)
				rounds[k] = map[int]map[string]time.Duration{}
			}
			if rounds[k][t.Round] == nil {
				rounds[k][t.Round] = map[string]time.Duration{}
			}
			rounds[k][t.Round][t.Proxy] = u.cpu
		}
	}
	order := func(sc string) int { return slices.Index(AllScenarios, sc) }
	sort.SliceStable(keys, func(i, j int) bool { return order(keys[i].sc) < order(keys[j].sc) })
	var out []UnitCost
	for _, k := range keys {
		var rows []UnitCost
		for _, n := range sortedKeys(rounds[k]) {
			cpu := rounds[k][n]
			rows = append(rows, UnitCost{Scenario: k.sc, Unit: k.unit, Round: n, CPU: cpu, Ratios: ratios(cpu)})
		}
		out = append(out, rows...)
		if len(rows) > 1 {
			out = append(out, median(rows))
		}
	}
	return out
}

// ratios returns cpu[a]/cpu[b] for the pairs of proxies in cpu, keyed
// "a/b" with a before b in proxyOrder.
func ratios(cpu map[string]time.Duration) map[string]float64 {
	out := map[string]float64{}
	for i, a := range proxyOrder {
		for _, b := range proxyOrder[i+1:] {
			if cpu[a] > 0 && cpu[b] > 0 {
				out[a+"/"+b] = float64(cpu[a]) / float64(cpu[b])
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// median is the median row of one unit's rounds: of each proxy's CPU per
// unit and of each ratio, over the rounds that have it.
func median(rows []UnitCost) UnitCost {
	m := UnitCost{Scenario: rows[0].Scenario, Unit: rows[0].Unit, CPU: map[string]time.Duration{}}
	for _, p := range proxyOrder {
		var v []float64
		for _, r := range rows {
			if c, ok := r.CPU[p]; ok {
				v = append(v, float64(c))
			}
		}
		if len(v) > 0 {
			m.CPU[p] = time.Duration(medianOf(v))
		}
	}
	for i, a := range proxyOrder {
		for _, b := range proxyOrder[i+1:] {
			var v []float64
			for _, r := range rows {
				if x, ok := r.Ratios[a+"/"+b]; ok {
					v = append(v, x)
				}
			}
			if len(v) > 0 {
				if m.Ratios == nil {
					m.Ratios = map[string]float64{}
				}
				m.Ratios[a+"/"+b] = medianOf(v)
			}
		}
	}
	return m
}

// medianOf returns the median of v (the mean of the middle two for an
// even count); it sorts v.
func medianOf(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func sortedKeys[V any](m map[int]V) []int {
	var ks []int
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// unitsTable writes the unit costs as one Markdown table: a column per
// proxy that ran and one per pair of them.
func (r *Report) unitsTable(w io.Writer) {
	costs := r.UnitCosts()
	if len(costs) == 0 {
		return
	}
	var ps []string
	for _, p := range proxyOrder {
		if slices.ContainsFunc(costs, func(c UnitCost) bool { _, ok := c.CPU[p]; return ok }) {
			ps = append(ps, p)
		}
	}
	tb := table{head: []string{"scenario", "per", "round"}, left: 3}
	tb.head = append(tb.head, ps...)
	var pairs []string
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			pairs = append(pairs, a+"/"+b)
			tb.head = append(tb.head, a+" ÷ "+b)
		}
	}
	for _, c := range costs {
		round := fmt.Sprint(c.Round)
		if c.Round == 0 {
			round = "median"
		}
		row := []string{c.Scenario, c.Unit, round}
		for _, p := range ps {
			v := "—"
			if d, ok := c.CPU[p]; ok {
				v = dur(d)
			}
			row = append(row, v)
		}
		for _, k := range pairs {
			v := "—"
			if x, ok := c.Ratios[k]; ok {
				v = fmt.Sprintf("%.2f", x)
			}
			row = append(row, v)
		}
		tb.rows = append(tb.rows, row)
	}
	fmt.Fprintf(w, "\n### CPU per unit of work: proxy CPU time per unit, and its ratio between the proxies of the same round\n\n")
	tb.write(w)
}

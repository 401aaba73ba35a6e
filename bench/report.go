package bench

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// titles head each scenario's table.
var titles = map[string]string{
	Idle:  "idle: proxy memory per idle WebSocket (RSS delta / connections up)",
	Flood: "flood: one client pushing into a backend that never reads (proxy RSS every 500 ms)",
	Ramp:  "ramp: WebSocket handshakes through the proxy, as fast as possible",
	Echo:  "echo: round trips at a fixed total rate",
	Bulk:  "bulk: throughput with large messages, through the proxy and directly",
}

// columns are the headers of each scenario's table; row fills them.
var columns = map[string][]string{
	Idle:  {"proxy", "conns up", "RSS before", "RSS loaded", "RSS Δ/conn", "PSS Δ/conn", "proxy CPU", "loadgen CPU", "handshake p50/p99"},
	Flood: {"proxy", "pushed", "RSS first", "RSS min", "RSS max", "RSS last", "max − first"},
	Ramp:  {"proxy", "conns up", "failed", "handshakes/s", "handshake p50", "p99", "max", "proxy CPU"},
	Echo:  {"proxy", "conns", "round trips/s", "RTT p50", "p99", "p99.9", "max", "proxy CPU/msg"},
	Bulk:  {"proxy", "conns", "MB/s", "vs direct", "proxy CPU"},
}

// Markdown writes the machine line and one table per scenario, with a line
// per failed trial under its table.
func (r *Report) Markdown(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "%d CPUs, %s RAM, Linux %s, %s, open files %d, %s\n",
		m.CPUs, gib(m.MemTotal), m.Kernel, m.GoVersion, m.FileLimit, m.Date.Format(time.RFC3339))
	for _, p := range []string{Nginx, HAProxy} {
		if v := m.Versions[p]; v != "" {
			fmt.Fprintf(w, "%s: %s\n", p, v)
		}
	}
	rounds := false
	for _, t := range r.Trials {
		rounds = rounds || t.Round > 1
	}
	for _, sc := range AllScenarios {
		var tb table
		var errs []string
		for _, t := range r.Trials {
			if t.Scenario != sc {
				continue
			}
			row := r.row(t)
			if rounds {
				row[0] = fmt.Sprintf("%s #%d", row[0], t.Round)
			}
			if t.Err != "" {
				errs = append(errs, fmt.Sprintf("- %s: %s", row[0], t.Err))
			}
			tb.rows = append(tb.rows, row)
		}
		if tb.rows == nil {
			continue
		}
		tb.head = columns[sc]
		fmt.Fprintf(w, "\n### %s\n\n", titles[sc])
		tb.write(w)
		if errs != nil {
			fmt.Fprintf(w, "\n%s\n", strings.Join(errs, "\n"))
		}
	}
}

// row formats t for its scenario's table.
func (r *Report) row(t Trial) []string {
	switch t.Scenario {
	case Idle:
		return []string{t.Proxy, fmt.Sprintf("%d/%d", t.Up, t.Conns), mib(t.Before.RSS), mib(t.Loaded.RSS),
			fmt.Sprintf("%.0f B", t.BytesPerConn), fmt.Sprintf("%.0f B", t.PSSPerConn),
			dur(t.ProxyCPU), dur(t.LoadCPU), dur(t.Handshake.P50) + " / " + dur(t.Handshake.P99)}
	case Flood:
		f := t.Flood
		if f == nil {
			f = &FloodResult{}
		}
		return []string{t.Proxy, mib(f.Pushed), mib(f.First), mib(f.Min), mib(f.Max), mib(f.Last), mib(f.Max - f.First)}
	case Ramp:
		return []string{t.Proxy, fmt.Sprintf("%d/%d", t.Up, t.Conns), fmt.Sprint(t.Failed),
			fmt.Sprintf("%.0f", t.HandshakesPerSec), dur(t.Handshake.P50), dur(t.Handshake.P99),
			dur(t.Handshake.Max), dur(t.ProxyCPU)}
	case Echo:
		return []string{t.Proxy, fmt.Sprint(t.Up), fmt.Sprintf("%.0f", t.MsgsPerSec), dur(t.RTT.P50),
			dur(t.RTT.P99), dur(t.RTT.P999), dur(t.RTT.Max), dur(t.CPUPerMsg)}
	case Bulk:
		vs := "—"
		if d := r.find(Bulk, Direct, t.Round); d != nil && d.MBPerSec > 0 && t.Proxy != Direct {
			vs = fmt.Sprintf("%.0f%%", 100*t.MBPerSec/d.MBPerSec)
		}
		return []string{t.Proxy, fmt.Sprint(t.Up), fmt.Sprintf("%.1f", t.MBPerSec), vs, dur(t.ProxyCPU)}
	}
	return []string{t.Proxy}
}

// find returns the trial of scenario sc through proxy p in round, or nil.
func (r *Report) find(sc, p string, round int) *Trial {
	for i := range r.Trials {
		if t := &r.Trials[i]; t.Scenario == sc && t.Proxy == p && t.Round == round {
			return t
		}
	}
	return nil
}

// table is a Markdown table with padded columns.
type table struct {
	head []string
	rows [][]string
}

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cells []string, right bool) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cells {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if right && i > 0 {
				c = pad + c
			} else {
				c += pad
			}
			b.WriteString(" " + c + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(t.head, false)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
		if i > 0 {
			sep[i] = sep[i][1:] + ":"
		}
	}
	line(sep, false)
	for _, r := range t.rows {
		line(r, true)
	}
}

// mib formats a byte count in MiB with one decimal.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// gib formats a byte count in GiB without decimals, as free -g does.
func gib(n int64) string { return fmt.Sprintf("%d GiB", n>>30) }

// dur formats d with three significant digits in a unit that suits it.
func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "0"
	case d < time.Millisecond:
		return sig3(float64(d)/float64(time.Microsecond)) + " µs"
	case d < time.Second:
		return sig3(float64(d)/float64(time.Millisecond)) + " ms"
	default:
		return sig3(d.Seconds()) + " s"
	}
}

// sig3 formats v (0 < v < 1000 or so) with about three significant digits.
func sig3(v float64) string {
	switch {
	case v >= 99.95:
		return fmt.Sprintf("%.0f", v)
	case v >= 9.995:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// titles head each scenario's table.
var titles = map[string]string{
	Idle:   "idle: proxy memory per idle WebSocket (RSS delta / connections up)",
	Flood:  "flood: one client pushing into a backend that never reads (proxy RSS every 500 ms)",
	Ramp:   "ramp: WebSocket handshakes through the proxy, as fast as possible",
	Echo:   "echo: round trips at a fixed total rate",
	Bulk:   "bulk: throughput with large messages, through the proxy and directly",
	Resume: "resume: a reconnect storm: each client connects once (full TLS handshake), then reconnects offering its session ticket",
	Reload: "reload: tunnels sending numbered messages through configuration reloads (and wsproxy's binary upgrade), as the clients saw them",
}

// columns are the headers of each scenario's table; row fills them.
var columns = map[string][]string{
	Idle: {"proxy", "conns up", "RSS before", "RSS loaded", "RSS Δ/conn", "PSS Δ/conn", "proxy CPU", "CPU/conn", vsColumn,
		"loadgen CPU", "handshake p50/p99"},
	Flood: {"proxy", "pushed", "RSS first", "RSS min", "RSS max", "RSS last", "max − first", "last − at 1 s"},
	Ramp: {"proxy", "conns up", "failed", "handshakes/s", "handshake p50", "p99", "max", "proxy CPU", "CPU/handshake", vsColumn,
		"loadgen + backends CPU", "proxy share"},
	Echo: {"proxy", "conns", "round trips/s", "RTT p50", "p99", "p99.9", "max", "proxy CPU/msg", vsColumn, "of it in kernel", "proxy share"},
	Bulk: {"proxy", "conns", "MB/s", "vs direct", "proxy CPU", "CPU/MB", vsColumn, "proxy share"},
	Resume: {"proxy", "clients up", "reconnects up", "resumed", "full: handshake p50", "reconnect: p50", "conns/s full / reconnect",
		"proxy CPU full / reconnect", "CPU/full", "CPU/reconnect", vsColumn + " full / reconnect", "reconnect ÷ full", "proxy share"},
	Reload: {"proxy", "tunnels open", "reloads + upgrades", "reloads taken", "tunnels closed", "how", "messages sent",
		"echoed in order", "unanswered", "longest round trip"},
}

// ran reports whether a trial of the report went through proxy.
func (r *Report) ran(proxy string) bool {
	return slices.ContainsFunc(r.Trials, func(t Trial) bool { return t.Proxy == proxy })
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
	if z := r.Size; z.Conns > 0 {
		fmt.Fprintf(w, "sizing: %d connections; wsproxy %d worker(s)", z.Conns, z.Workers)
		if r.ran(Nginx) {
			nw := "auto"
			if z.NginxWorkers > 0 {
				nw = fmt.Sprint(z.NginxWorkers)
			}
			fmt.Fprintf(w, ", nginx worker_processes %s", nw)
		}
		if r.ran(HAProxy) {
			fmt.Fprintf(w, ", HAProxy ≤ %d (one process)", z.HAProxyMax)
		}
		fmt.Fprintf(w, "; %d echo backends; %d source addresses; load generator %d process(es); balance %s\n",
			z.Backends, z.Sources, z.LoadProcs,
			map[bool]string{false: "ip_hash (seed)", true: "round robin (ip_hash cannot spread 127.0.0.x clients)"}[z.Scale])
		if len(r.Plan.Roles) > 0 {
			fmt.Fprintln(w, r.Plan)
		}
	}
	if r.Rate > 0 {
		fmt.Fprintf(w, "idle: connections opened at %d per second in total (ramp: as fast as possible)\n", r.Rate)
	}
	if r.TLS {
		fmt.Fprintf(w, "TLS: every proxy terminates TLS 1.2/1.3 (one self-signed %s certificate per trial) offering %s; clients use wss:// with Go's default key exchanges; backends plain ws\n",
			keyNames[r.TLSKey], curvesNames[r.Curves])
		if n := r.negotiated(); n != "" {
			fmt.Fprintf(w, "TLS negotiated with a Go client: %s\n", n)
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
			if t.Skipped != "" {
				row = make([]string, len(columns[sc]))
				row[0], row[1] = t.Proxy, "skipped"
			}
			if rounds {
				row[0] = fmt.Sprintf("%s #%d", row[0], t.Round)
			}
			switch {
			case t.Err != "" && t.Dropped > 0:
				errs = append(errs, fmt.Sprintf("- **FAILED, %d DROPPED** %s: %s", t.Dropped, row[0], t.Err))
			case t.Err != "":
				errs = append(errs, fmt.Sprintf("- **FAILED** %s: %s", row[0], t.Err))
			case t.Skipped != "":
				errs = append(errs, fmt.Sprintf("- %s skipped: %s", row[0], t.Skipped))
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
		if sc == Idle {
			r.holdTable(w, rounds)
		}
	}
	r.unitsTable(w)
}

// negotiated lists each proxy's TLSNegotiated, "wsproxy TLS 1.3, X25519,
// ECDSA; nginx ...", once per distinct value in trial order.
func (r *Report) negotiated() string {
	var out []string
	for _, t := range r.Trials {
		if s := t.Proxy + " " + t.TLSNegotiated; t.TLSNegotiated != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

// curvesNames describe Config.Curves's values; "" is a report from before
// there was a choice, when every proxy kept its own.
var curvesNames = map[string]string{
	"":         "its own default key exchanges",
	CurvesOwn:  "its own default key exchanges",
	CurvesSame: "the same key exchanges, X25519 and P-256",
}

// keyNames describe Config.TLSKey's values; "" is a report from before
// there was a choice, always ECDSA.
var keyNames = map[string]string{"": "ECDSA P-256", KeyECDSA: "ECDSA P-256", KeyRSA: "RSA-2048"}

// holdColumns head the table of idle trials that held their connections.
var holdColumns = []string{"proxy", "procs", "up", "dropped", "RSS before", "RSS all up", "RSS end of hold", "RSS max (hold)",
	"Δ/conn all up", "Δ/conn end", "proxy CPU ramp / hold", "loadgen CPU ramp / hold", "loadgen RSS", "handshake p50/p99"}

// holdTable writes, for idle trials with samples from the hold, the proxy
// from all up to the end of the hold next to the load generator.
func (r *Report) holdTable(w io.Writer, rounds bool) {
	var tb table
	var hold time.Duration
	for _, t := range r.Trials {
		if t.Scenario != Idle || len(t.Hold) < 2 {
			continue
		}
		last := t.Hold[len(t.Hold)-1]
		hold = max(hold, last.At)
		var maxRSS int64
		for _, h := range t.Hold {
			maxRSS = max(maxRSS, h.RSS)
		}
		name := t.Proxy
		if rounds {
			name = fmt.Sprintf("%s #%d", name, t.Round)
		}
		dropped := fmt.Sprint(t.Dropped)
		if t.Dropped > 0 {
			dropped = fmt.Sprintf("**%d**", t.Dropped)
		}
		perEnd := 0.0
		if t.Up > 0 {
			perEnd = float64(t.HoldEnd.RSS-t.Before.RSS) / float64(t.Up)
		}
		tb.rows = append(tb.rows, []string{name, fmt.Sprint(t.Loaded.Procs), fmt.Sprintf("%d/%d", t.Up, t.Conns), dropped,
			mib(t.Before.RSS), mib(t.Loaded.RSS), mib(t.HoldEnd.RSS), mib(maxRSS),
			fmt.Sprintf("%.0f B", t.BytesPerConn), fmt.Sprintf("%.0f B", perEnd),
			dur(t.ProxyCPU) + " / " + dur(t.HoldEnd.CPU-t.Loaded.CPU),
			dur(t.LoadLoaded.CPU-t.LoadBefore.CPU) + " / " + dur(t.LoadHoldEnd.CPU-t.LoadLoaded.CPU),
			mib(t.LoadHoldEnd.RSS), dur(t.Handshake.P50) + " / " + dur(t.Handshake.P99)})
	}
	if tb.rows == nil {
		return
	}
	tb.head = holdColumns
	fmt.Fprintf(w, "\n### hold: proxy and load generator while the idle connections are held (last sample %v after all up)\n\n", hold.Round(time.Second))
	tb.write(w)
}

// row formats t for its scenario's table.
func (r *Report) row(t Trial) []string {
	switch t.Scenario {
	case Idle:
		return []string{t.Proxy, fmt.Sprintf("%d/%d", t.Up, t.Conns), mib(t.Before.RSS), mib(t.Loaded.RSS),
			fmt.Sprintf("%.0f B", t.BytesPerConn), fmt.Sprintf("%.0f B", t.PSSPerConn),
			dur(t.ProxyCPU), dur(t.CPUPerConn), r.vsWsproxy(t), dur(t.LoadCPU), dur(t.Handshake.P50) + " / " + dur(t.Handshake.P99)}
	case Flood:
		f := t.Flood
		if f == nil {
			f = &FloodResult{}
		}
		settled := "—"
		if len(f.Samples) > 0 {
			settled = mib(f.Last - f.At(time.Second))
		}
		return []string{t.Proxy, mib(f.Pushed), mib(f.First), mib(f.Min), mib(f.Max), mib(f.Last),
			mib(f.Max - f.First), settled}
	case Ramp:
		return []string{t.Proxy, fmt.Sprintf("%d/%d", t.Up, t.Conns), fmt.Sprint(t.Failed),
			fmt.Sprintf("%.0f", t.HandshakesPerSec), dur(t.Handshake.P50), dur(t.Handshake.P99),
			dur(t.Handshake.Max), dur(t.ProxyCPU), dur(t.CPUPerHandshake), r.vsWsproxy(t), dur(t.OthersCPU), share(t)}
	case Echo:
		return []string{t.Proxy, fmt.Sprint(t.Up), fmt.Sprintf("%.0f", t.MsgsPerSec), dur(t.RTT.P50),
			dur(t.RTT.P99), dur(t.RTT.P999), dur(t.RTT.Max), dur(t.CPUPerMsg), r.vsWsproxy(t), kernelPart(t), share(t)}
	case Bulk:
		vs := "—"
		if d := r.find(Bulk, Direct, t.Round); d != nil && d.MBPerSec > 0 && t.Proxy != Direct {
			vs = fmt.Sprintf("%.0f%%", 100*t.MBPerSec/d.MBPerSec)
		}
		perMB := "—"
		if t.Proxy != Direct {
			perMB = dur(t.CPUPerMB)
		}
		return []string{t.Proxy, fmt.Sprint(t.Up), fmt.Sprintf("%.1f", t.MBPerSec), vs, dur(t.ProxyCPU), perMB, r.vsWsproxy(t), share(t)}
	case Resume:
		return resumeRow(t, r.vsWsproxy(t))
	case Reload:
		return reloadRow(t)
	}
	return []string{t.Proxy}
}

// resumeRow formats a resume trial: how many resumed, and what a
// reconnection cost the proxy against a first connection; vs is
// vsWsproxy's column.
func resumeRow(t Trial, vs string) []string {
	rs := t.Resume
	if rs == nil {
		rs = &ResumeResult{}
	}
	rate := func(n int, d time.Duration) string {
		if d <= 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f", float64(n)/d.Seconds())
	}
	resumed, ratio := "—", "—"
	if rs.Reconnected > 0 {
		resumed = fmt.Sprintf("%d (%.0f%%)", rs.Resumed, 100*rs.ResumedShare())
	}
	if x := rs.Ratio(); x > 0 {
		ratio = fmt.Sprintf("%.2f", x)
	}
	return []string{t.Proxy, fmt.Sprintf("%d/%d", t.Up, t.Conns), fmt.Sprintf("%d/%d", rs.Reconnected, rs.Asked), resumed,
		dur(t.Handshake.P50), dur(rs.Reconnect.P50), rate(t.Up, rs.FullTime) + " / " + rate(rs.Reconnected, rs.ReconnectTime),
		dur(rs.FullCPU) + " / " + dur(rs.ReconnectCPU), dur(rs.CPUPerFull), dur(rs.CPUPerReconnect), vs, ratio, share(t)}
}

// vsColumn heads the column of vsWsproxy, beside the CPU per unit.
const vsColumn = "wsproxy ÷ it"

// vsWsproxy is wsproxy's CPU per unit of work divided by t's, in the same
// round of the same scenario, for each unit of t's table (resume: full
// connection / reconnection): below 1, wsproxy spent less. It is "—" for
// wsproxy itself, the direct baseline, and where either trial failed or
// has no cost. The units table (units.go) has the medians over rounds.
func (r *Report) vsWsproxy(t Trial) string {
	w := r.find(t.Scenario, Wsproxy, t.Round)
	if t.Proxy == Wsproxy || t.Proxy == Direct || t.Err != "" || w == nil || w.Err != "" {
		return "—"
	}
	mine, theirs := unitCosts(*w, r.TLS), unitCosts(t, r.TLS)
	n := min(len(mine), len(theirs))
	if t.Scenario == Idle {
		n = min(n, 1) // connections brought up; the hold has its own table
	}
	var out []string
	for i := range n {
		v := "—"
		if mine[i].cpu > 0 && theirs[i].cpu > 0 {
			v = fmt.Sprintf("%.2f", float64(mine[i].cpu)/float64(theirs[i].cpu))
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return "—"
	}
	return strings.Join(out, " / ")
}

// kernelPart is the part of the proxy's CPU time during t spent in the
// kernel (system time): for a relay, the floor no user-space work removes.
func kernelPart(t Trial) string {
	if t.ProxyCPU <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(t.Loaded.SysCPU-t.Before.SysCPU)/float64(t.ProxyCPU))
}

// share is the proxy's part of the CPU time of the trial's processes
// (proxy, load generator, backends).
func share(t Trial) string {
	if t.OthersCPU <= 0 || t.Proxy == Direct {
		return "—"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(t.ProxyCPU)/float64(t.ProxyCPU+t.OthersCPU))
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

// table is a Markdown table with padded columns: the first max(left, 1)
// columns are text, aligned left; the others numbers, aligned right.
type table struct {
	head []string
	rows [][]string
	left int
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
			if right && i >= max(t.left, 1) {
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
		if i >= max(t.left, 1) {
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

package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// latencyJSON is Latency in milliseconds, as Result.MarshalJSON writes
// it. Latency itself keeps the default encoding (nanoseconds), which
// programs that embed it in their own results may rely on.
type latencyJSON struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p99_9_ms"`
	Max   float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func (l Latency) inMillis() latencyJSON {
	return latencyJSON{l.Count, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.P999), ms(l.Max)}
}

// MarshalJSON writes r with snake_case names and durations in seconds
// (latencies in milliseconds): the summary of `wsproxy loadtest -json`.
func (r *Result) MarshalJSON() ([]byte, error) {
	var reconnect *latencyJSON
	if r.Reconnect.Count > 0 {
		l := r.Reconnect.inMillis()
		reconnect = &l
	}
	child := make([]float64, len(r.ChildCPU))
	for i, d := range r.ChildCPU {
		child[i] = d.Seconds()
	}
	return json.Marshal(struct {
		Conns       int            `json:"conns"`
		Up          int            `json:"up"`
		Failed      int            `json:"failed"`
		Dropped     int            `json:"dropped"`
		FailReasons map[string]int `json:"fail_reasons"`
		DropReasons map[string]int `json:"drop_reasons"`
		Handshake   latencyJSON    `json:"handshake"`
		FirstEcho   latencyJSON    `json:"first_echo"`
		RTT         latencyJSON    `json:"rtt"`
		Messages    int64          `json:"messages"`
		Bytes       int64          `json:"bytes"`
		Reconnected int            `json:"reconnected,omitempty"`
		ReconnFail  int            `json:"reconnect_failed,omitempty"`
		Resumed     int            `json:"resumed,omitempty"`
		Reconnect   *latencyJSON   `json:"reconnect,omitempty"`
		Ramp        float64        `json:"ramp_s"`
		Elapsed     float64        `json:"elapsed_s"`
		MsgsPerSec  float64        `json:"msgs_per_sec"`
		BytesPerSec float64        `json:"bytes_per_sec"`
		CPU         float64        `json:"cpu_s"`
		ChildCPU    []float64      `json:"child_cpu_s"`
	}{r.Conns, r.Up, r.Failed, r.Dropped, r.FailReasons, r.DropReasons, r.Handshake.inMillis(), r.FirstEcho.inMillis(), r.RTT.inMillis(),
		r.Messages, r.Bytes, r.Reconnected, r.ReconnectFailed, r.Resumed, reconnect, r.Ramp.Seconds(), r.Elapsed.Seconds(), r.MsgsPerSec, r.BytesPerSec,
		r.CPU.Seconds(), child})
}

// CheckFailures returns an error wrapping ErrFailures when the connections
// that failed or dropped are more than the share allow (0 to 1) of Conns;
// nil otherwise; the Reconnect workload's reconnections count as
// connections. Connections never dialled (a canceled run) do not count.
// A load test whose every connection was refused is not a success: the
// loadtest command exits non-zero on this error.
func (r *Result) CheckFailures(allow float64) error {
	bad := r.Failed + r.Dropped + r.ReconnectFailed
	all := r.Conns + r.Reconnected + r.ReconnectFailed
	if bad == 0 || float64(bad) <= allow*float64(all) {
		return nil
	}
	return fmt.Errorf("%w: %d of %d failed or dropped (%d failed, %d dropped, %d reconnections failed); the share allowed is %g",
		ErrFailures, bad, all, r.Failed, r.Dropped, r.ReconnectFailed, allow)
}

// WriteText writes r as a short human-readable report.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "connections  %d up, %d failed, %d dropped (of %d; ramp %v)\n",
		r.Up, r.Failed, r.Dropped, r.Conns, r.Ramp.Round(time.Millisecond))
	writeLatency(&b, "handshake", r.Handshake)
	writeLatency(&b, "first echo", r.FirstEcho)
	writeLatency(&b, "round trip", r.RTT)
	if n := r.Reconnected + r.ReconnectFailed; n > 0 {
		fmt.Fprintf(&b, "reconnects   %d up, %d failed (of %d; %v); %d resumed their TLS session (%.1f%% of those up)\n",
			r.Reconnected, r.ReconnectFailed, n, r.Elapsed.Round(time.Millisecond), r.Resumed, pct(r.Resumed, r.Reconnected))
		writeLatency(&b, "reconnect", r.Reconnect)
	} else if r.Elapsed > 0 {
		fmt.Fprintf(&b, "messages     %d in %v: %.0f/s, %.2f MB/s payload\n",
			r.Messages, r.Elapsed.Round(time.Millisecond), r.MsgsPerSec, r.BytesPerSec/1e6)
	}
	fmt.Fprintf(&b, "cpu          %v user+sys", r.CPU.Round(time.Millisecond))
	if len(r.ChildCPU) > 0 {
		b.WriteString("; children")
		for _, d := range r.ChildCPU {
			fmt.Fprintf(&b, " %v", d.Round(time.Millisecond))
		}
	}
	b.WriteByte('\n')
	writeReasons(&b, "failed", r.FailReasons)
	writeReasons(&b, "dropped", r.DropReasons)
	_, err := io.WriteString(w, b.String())
	return err
}

// pct is 100 n / of, or 0 when of is 0.
func pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func writeLatency(b *strings.Builder, name string, l Latency) {
	if l.Count == 0 {
		return
	}
	r := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
	fmt.Fprintf(b, "%-12s p50 %v  p90 %v  p99 %v  p99.9 %v  max %v  (n=%d)\n",
		name, r(l.P50), r(l.P90), r(l.P99), r(l.P999), r(l.Max), l.Count)
}

// writeReasons lists counts by reason, most frequent first.
func writeReasons(b *strings.Builder, name string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(x, y string) int {
		if m[x] != m[y] {
			return m[y] - m[x]
		}
		return strings.Compare(x, y)
	})
	fmt.Fprintf(b, "%-12s", name)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, " %s %d", k, m[k])
	}
	b.WriteByte('\n')
}

// ProgressLine formats Snapshots as one-line progress reports with rates
// since the previous call. The zero value is ready.
type ProgressLine struct{ prev Snapshot }

// Format returns the line for s, without a line ending.
func (p *ProgressLine) Format(s Snapshot) string {
	dt := (s.Elapsed - p.prev.Elapsed).Seconds()
	var msgs, mb float64
	if dt > 0 {
		msgs = float64(s.Messages-p.prev.Messages) / dt
		mb = float64(s.Bytes-p.prev.Bytes) / dt / 1e6
	}
	p.prev = s
	return fmt.Sprintf("%5.0fs %-5s dialed %d  up %d  failed %d  dropped %d  msgs %d (%.0f/s, %.2f MB/s)",
		s.Elapsed.Seconds(), s.Phase, s.Dialed, s.Up, s.Failed, s.Dropped, s.Messages, msgs, mb)
}

package loadtest

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency summarises one HDR histogram (three significant digits,
// microsecond resolution).
type Latency struct {
	P50, P90, P99, P999, Max time.Duration
	Count                    int64 // values recorded
	// CDF is the distribution at CDFPercentiles, for plots: CDF[i] is the
	// value at or below which CDFPercentiles[i] % of the values lie. Empty
	// when nothing was recorded.
	CDF []time.Duration `json:",omitempty"`
}

// CDFPercentiles are the percentiles of Latency.CDF: even steps up to 90,
// then ever closer to 100, where the tail of a latency distribution lives.
var CDFPercentiles = []float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 97, 98, 99, 99.5, 99.7, 99.8, 99.9, 99.95, 99.97, 99.99, 100}

// Result is the outcome of Run, merged over all loops and child processes.
type Result struct {
	// Conns is Config.Conns. Conns-Up-Failed connections were never
	// dialled (the run was canceled during the ramp).
	Conns int
	// Up counts connections that completed the handshake and one verified
	// echo; Dropped of them closed before the end of the run.
	Up, Failed, Dropped int
	// FailReasons and DropReasons count failures and drops by reason:
	// "refused", "timeout", "reset", "closed", "bad status 503", ...
	FailReasons, DropReasons map[string]int
	// Handshake is the time from the dial to a valid 101 response.
	// FirstEcho is the round trip of the verifying echo that follows it,
	// during the ramp. RTT is the round trip, from writing a message to
	// having its whole echo, of the messages of the Duration phase (none
	// for Hold): steady state, not mixed with the ramp.
	Handshake, FirstEcho, RTT Latency
	// Messages and Bytes count the echoed messages and payload bytes,
	// verified byte for byte, received during the Duration phase.
	Messages, Bytes int64
	// Reconnected and ReconnectFailed count the reconnections of the
	// Reconnect workload that came up (TLS and WebSocket handshakes and
	// one verified echo) and that failed; Resumed of the Reconnected
	// resumed their TLS session (tls.ConnectionState.DidResume). Reconnect
	// is their time from the dial to a valid 101. Up, Failed, Handshake
	// and FirstEcho are the clients' first (full) connections, and their
	// failures and the reconnections' share FailReasons.
	Reconnected, ReconnectFailed, Resumed int
	Reconnect                             Latency
	// Ramp is the time from the start to every connection up or failed.
	Ramp time.Duration
	// Elapsed is the length of the Duration phase as run: shorter than
	// Config.Duration if every connection dropped or ctx was canceled.
	// For Reconnect, the time the reconnections took.
	Elapsed time.Duration
	// MsgsPerSec and BytesPerSec are Messages and Bytes over Elapsed.
	MsgsPerSec, BytesPerSec float64
	// CPU is the user+system time of this process during Run plus that of
	// each child process, which ChildCPU lists (empty without children).
	CPU      time.Duration
	ChildCPU []time.Duration
}

// Snapshot is a running total passed to Config.Progress.
type Snapshot struct {
	Elapsed time.Duration // since Run started
	Phase   string        // "ramp", "ready", "run", "close" or "done"
	Dialed  int
	Up      int // including Dropped
	Failed  int
	Dropped int
	// Messages and Bytes are counted as in Result.
	Messages, Bytes int64
}

// hist is an HDR histogram that travels between processes in JSON as
// its compressed V2 encoding (a base64 string).
type hist struct{ *hdrhistogram.Histogram }

// MarshalJSON encodes h in the HdrHistogram V2 compressed format.
func (h hist) MarshalJSON() ([]byte, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, err
	}
	return json.Marshal(string(b))
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (h *hist) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	d, err := hdrhistogram.Decode([]byte(s))
	h.Histogram = d
	return err
}

// tally is the mergeable form of a result: what one process measured, or
// the sum over several. Children send theirs to the parent as JSON.
type tally struct {
	Dialed, Up, Failed, Dropped           int
	FailReasons, DropReasons              map[string]int
	Messages, Bytes                       int64
	Reconnected, ReconnectFailed, Resumed int
	Handshake, FirstEcho, RTT, Reconnect  hist
	Ramp, Elapsed, CPU                    time.Duration
	ChildCPU                              []time.Duration
}

func newTally() *tally {
	return &tally{
		FailReasons: map[string]int{}, DropReasons: map[string]int{},
		Handshake: hist{newHist()}, FirstEcho: hist{newHist()}, RTT: hist{newHist()}, Reconnect: hist{newHist()},
	}
}

// addLoop adds what loop l measured; l's goroutine must have ended.
func (t *tally) addLoop(l *loop) {
	t.Dialed += int(l.cnt.dialed.Load())
	t.Up += int(l.cnt.up.Load())
	t.Failed += int(l.cnt.failed.Load())
	t.Dropped += int(l.cnt.dropped.Load())
	t.Messages += l.cnt.msgs.Load()
	t.Bytes += l.cnt.bytes.Load()
	addCounts(t.FailReasons, l.failReasons)
	addCounts(t.DropReasons, l.dropReasons)
	t.Handshake.Merge(l.hs)
	t.FirstEcho.Merge(l.first)
	t.RTT.Merge(l.rtt)
}

// addChild adds the tally of a child process. Phases of children overlap,
// so durations take the longest; CPU adds up.
func (t *tally) addChild(c *tally) {
	t.Dialed += c.Dialed
	t.Up += c.Up
	t.Failed += c.Failed
	t.Dropped += c.Dropped
	t.Messages += c.Messages
	t.Bytes += c.Bytes
	t.Reconnected += c.Reconnected
	t.ReconnectFailed += c.ReconnectFailed
	t.Resumed += c.Resumed
	addCounts(t.FailReasons, c.FailReasons)
	addCounts(t.DropReasons, c.DropReasons)
	for _, h := range [...]struct{ dst, src hist }{
		{t.Handshake, c.Handshake}, {t.FirstEcho, c.FirstEcho}, {t.RTT, c.RTT}, {t.Reconnect, c.Reconnect},
	} {
		if h.src.Histogram != nil {
			h.dst.Merge(h.src.Histogram)
		}
	}
	t.Ramp = max(t.Ramp, c.Ramp)
	t.Elapsed = max(t.Elapsed, c.Elapsed)
	t.CPU += c.CPU
	t.ChildCPU = append(t.ChildCPU, c.CPU)
}

func addCounts(dst, src map[string]int) {
	for k, v := range src {
		dst[k] += v
	}
}

// result turns t into the public Result of a run of conns connections.
func (t *tally) result(conns int) *Result {
	r := &Result{
		Conns: conns, Up: t.Up, Failed: t.Failed, Dropped: t.Dropped,
		FailReasons: maps.Clone(t.FailReasons), DropReasons: maps.Clone(t.DropReasons),
		Handshake: latency(t.Handshake.Histogram), FirstEcho: latency(t.FirstEcho.Histogram),
		RTT:      latency(t.RTT.Histogram),
		Messages: t.Messages, Bytes: t.Bytes,
		Reconnected: t.Reconnected, ReconnectFailed: t.ReconnectFailed, Resumed: t.Resumed, Reconnect: latency(t.Reconnect.Histogram),
		Ramp: t.Ramp, Elapsed: t.Elapsed, CPU: t.CPU, ChildCPU: t.ChildCPU,
	}
	if s := t.Elapsed.Seconds(); s > 0 {
		r.MsgsPerSec = float64(t.Messages) / s
		r.BytesPerSec = float64(t.Bytes) / s
	}
	return r
}

// latency summarises h, whose values are microseconds.
func latency(h *hdrhistogram.Histogram) Latency {
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	q := h.ValueAtPercentiles([]float64{50, 90, 99, 99.9})
	l := Latency{
		P50: us(q[50]), P90: us(q[90]), P99: us(q[99]), P999: us(q[99.9]),
		Max: us(h.Max()), Count: h.TotalCount(),
	}
	if l.Count > 0 {
		l.CDF = make([]time.Duration, len(CDFPercentiles))
		for i, p := range CDFPercentiles {
			switch p {
			case 0:
				l.CDF[i] = us(h.Min())
			case 100:
				l.CDF[i] = us(h.Max())
			default:
				l.CDF[i] = us(h.ValueAtPercentile(p))
			}
		}
	}
	return l
}

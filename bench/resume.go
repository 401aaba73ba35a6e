package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"wsproxy/loadtest"
)

// ResumeResult is what the resume scenario saw: Clients TLS clients, each
// with its own session cache, connected once (a full TLS handshake, the
// WebSocket handshake, one verified echo, close), then reconnected
// Config.Reconnects times each, offering the session ticket of their
// previous connection. The proxy is sampled before the first connections,
// between the phases and after the reconnections, so each phase's proxy
// CPU is its own.
type ResumeResult struct {
	Clients int `json:"clients"`
	// Asked is Clients × Config.Reconnects: the reconnections of the
	// clients that came up (Trial.Up) are made, the others' are not.
	Asked int `json:"asked"`
	// Reconnected is how many reconnections came up; Resumed of them
	// resumed their TLS session (tls.ConnectionState.DidResume), the
	// others paid a full handshake (a ticket the proxy could not decrypt,
	// such as one from another worker process with keys of its own).
	Reconnected int `json:"reconnected"`
	Resumed     int `json:"resumed"`
	// Reconnect is the reconnections' time from the dial to the 101; the
	// first connections' is Trial.Handshake.
	Reconnect loadtest.Latency `json:"reconnect"`
	// FullCPU and ReconnectCPU are the proxy's CPU time during the first
	// connections and during the reconnections; CPUPerFull and
	// CPUPerReconnect divide them by the connections that came up.
	FullCPU         time.Duration `json:"full_cpu"`
	ReconnectCPU    time.Duration `json:"reconnect_cpu"`
	CPUPerFull      time.Duration `json:"cpu_per_full,omitempty"`
	CPUPerReconnect time.Duration `json:"cpu_per_reconnect,omitempty"`
	// FullTime and ReconnectTime are how long each phase took.
	FullTime      time.Duration `json:"full_time"`
	ReconnectTime time.Duration `json:"reconnect_time"`
}

// ResumedShare is the part of the reconnections up that resumed, 0 to 1.
func (r *ResumeResult) ResumedShare() float64 {
	if r.Reconnected == 0 {
		return 0
	}
	return float64(r.Resumed) / float64(r.Reconnected)
}

// Ratio is CPUPerReconnect / CPUPerFull: what a reconnection costs the
// proxy against a first connection, or 0 when either is unmeasured.
func (r *ResumeResult) Ratio() float64 {
	if r.CPUPerFull <= 0 || r.CPUPerReconnect <= 0 {
		return 0
	}
	return float64(r.CPUPerReconnect) / float64(r.CPUPerFull)
}

// resume runs the reconnect storm through proxy p after the warm-up.
func (r *runner) resume(ctx context.Context, p *proc, url string, t *Trial) error {
	if err := r.warmup(ctx, url); err != nil {
		return err
	}
	rs := &ResumeResult{Clients: r.cfg.ResumeClients}
	t.Resume, t.Conns = rs, rs.Clients
	lc := r.load(url, loadtest.Reconnect, rs.Clients)
	lc.Reconnects = r.cfg.Reconnects
	var err error
	if t.Before, err = sampleGroup(p.pgid()); err != nil {
		return err
	}
	others0 := r.othersCPU()
	var mid Usage
	var others1 time.Duration
	midErr := errors.New("the first connections did not end")
	endErr := errors.New("the reconnections did not end")
	lc.OnReady = func(int) { mid, midErr = sampleGroup(p.pgid()) }
	lc.OnRunEnd = func() {
		t.Loaded, endErr = sampleGroup(p.pgid())
		others1 = r.othersCPU()
	}
	res, err := loadtest.Run(ctx, lc)
	if res != nil {
		r.fill(t, res)
		rs.Asked = res.Up * r.cfg.Reconnects
		rs.Reconnected, rs.Resumed, rs.Reconnect = res.Reconnected, res.Resumed, res.Reconnect
		rs.FullTime, rs.ReconnectTime = res.Ramp, res.Elapsed
	}
	if err != nil {
		return err
	}
	if midErr != nil {
		return midErr
	}
	if endErr != nil {
		return endErr
	}
	t.ProxyCPU = t.Loaded.CPU - t.Before.CPU
	t.OthersCPU = others1 - others0
	rs.FullCPU, rs.ReconnectCPU = mid.CPU-t.Before.CPU, t.Loaded.CPU-mid.CPU
	if t.Up > 0 {
		rs.CPUPerFull = rs.FullCPU / time.Duration(t.Up)
	}
	if rs.Reconnected > 0 {
		rs.CPUPerReconnect = rs.ReconnectCPU / time.Duration(rs.Reconnected)
	}
	if t.Up == 0 {
		return fmt.Errorf("no client came up (%v)", res.FailReasons)
	}
	if failed := rs.Asked - rs.Reconnected; t.Failed > 0 || failed > 0 {
		return fmt.Errorf("%d first connections and %d reconnections failed %v", t.Failed, failed, t.FailReasons)
	}
	return nil
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"wsproxy/loadtest"
)

// handshakeTimeout bounds each connection's dial, handshake and first echo.
const handshakeTimeout = 30 * time.Second

// load is the loadtest configuration shared by the scenarios. Up to
// PerProcess connections stay in the bench process; more are spread over
// loadtest child processes of at most PerProcess each.
func (r *runner) load(url, workload string, conns int) loadtest.Config {
	perProcess := min(PerProcess, r.cfg.files-500)
	if strings.HasPrefix(url, "wss://") {
		perProcess = (r.cfg.files - 500) / perWssConn
	}
	return loadtest.Config{
		URL:           url,
		Conns:         conns,
		Sources:       r.cfg.Sources,
		Workload:      workload,
		Timeout:       handshakeTimeout,
		MaxPerProcess: perProcess,
		Insecure:      strings.HasPrefix(url, "wss://"), // the trial's self-signed certificate
		Progress:      func(s loadtest.Snapshot) { r.prog.status("%s", snapshotLine(s)) },
	}
}

// warmup opens and closes cfg.Warmup connections through the proxy so that
// what it sets up once (buffers, pools, worker start-up) is in the baseline,
// then lets it settle.
func (r *runner) warmup(ctx context.Context, url string) error {
	if r.cfg.Warmup <= 0 {
		return nil
	}
	res, err := loadtest.Run(ctx, r.load(url, loadtest.Hold, r.cfg.Warmup))
	if err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if res.Up < res.Conns {
		return fmt.Errorf("warm-up: %d of %d connections failed: %v", res.Conns-res.Up, res.Conns, res.FailReasons)
	}
	return sleep(ctx, 300*time.Millisecond)
}

// idle opens cfg.Conns connections, one verified round trip each, and
// measures the proxy the moment all are up against the baseline, sampling
// it as they come up for the curve.
func (r *runner) idle(ctx context.Context, p *proc, url string, t *Trial) error {
	return r.hold(ctx, p, url, t, r.cfg.Hold, r.cfg.Rate)
}

// ramp opens cfg.Conns connections as fast as the proxy takes them.
func (r *runner) ramp(ctx context.Context, p *proc, url string, t *Trial) error {
	return r.hold(ctx, p, url, t, 0, 0)
}

// hold runs the hold workload for idle and ramp: the proxy is sampled
// before, at each progress report while connections come up, and in
// OnReady, the moment every connection is up or failed.
func (r *runner) hold(ctx context.Context, p *proc, url string, t *Trial, d time.Duration, rate int) error {
	if err := r.warmup(ctx, url); err != nil {
		return err
	}
	before, err := sampleGroup(p.pgid())
	if err != nil {
		return err
	}
	t.Before, t.Conns = before, r.cfg.Conns
	t.LoadBefore = sampleLoadgen()
	others0 := r.othersCPU()
	t.Curve = []Point{{0, before.RSS}}

	var mu sync.Mutex // guards t.Curve, t.Hold, loaded and snap
	var loaded *Usage
	var snap loadtest.Snapshot
	var ready time.Time
	stopHold := func() {}
	defer func() { stopHold() }()
	interval := holdInterval(d)
	lc := r.load(url, loadtest.Hold, r.cfg.Conns)
	lc.Duration, lc.Rate = d, rate
	lc.Progress = func(s loadtest.Snapshot) {
		mu.Lock()
		if s.Dropped > snap.Dropped {
			r.prog.end("DROPPED: %d connections dropped so far (%d more), %s into the hold", s.Dropped, s.Dropped-snap.Dropped,
				time.Since(ready).Round(time.Second))
		}
		up := max(snap.Up, s.Up) // OnReady may have counted more already
		snap = s
		snap.Up = up
		mu.Unlock()
		r.prog.status("%s", snapshotLine(s))
		if s.Phase != "ramp" {
			return
		}
		if u, err := sampleGroup(p.pgid()); err == nil {
			mu.Lock()
			if loaded == nil {
				t.Curve = append(t.Curve, Point{s.Up, u.RSS})
			}
			mu.Unlock()
		}
	}
	lc.OnReady = func(up int) {
		u, err := sampleGroup(p.pgid())
		lg := sampleLoadgen()
		others := r.othersCPU()
		mu.Lock()
		defer mu.Unlock()
		// The last snapshot may be older than the ramp: a ramp shorter
		// than a progress tick (a second) leaves it at 0 up.
		snap.Up = max(snap.Up, up)
		ready = time.Now()
		t.LoadLoaded = lg
		t.OthersCPU = others - others0
		if err == nil {
			loaded = &u
			t.Curve = append(t.Curve, Point{up, u.RSS})
			t.Hold = append(t.Hold, HoldSample{RSS: u.RSS, CPU: u.CPU, Procs: u.Procs, Up: up, Dropped: snap.Dropped})
			t.HoldEnd, t.LoadHoldEnd = u, lg
		}
		r.prog.status("all up: %d; proxy RSS %s; holding %v", up, mib(u.RSS), d)
		if d <= 0 {
			return
		}
		t.HoldInterval = interval
		stopHold = sync.OnceFunc(every(interval, func() {
			u, err := sampleGroup(p.pgid())
			lg := sampleLoadgen()
			mu.Lock()
			defer mu.Unlock()
			at := time.Since(ready)
			if err != nil || at >= d || snap.Phase == "close" || snap.Phase == "done" {
				return
			}
			if loaded != nil && u.Procs != loaded.Procs {
				r.prog.end("PROXY PROCESSES CHANGED: %d, were %d when all were up (a worker died?)", u.Procs, loaded.Procs)
			}
			t.Hold = append(t.Hold, HoldSample{At: at, RSS: u.RSS, CPU: u.CPU, Procs: u.Procs, Up: snap.Up, Dropped: snap.Dropped})
			t.HoldEnd, t.LoadHoldEnd = u, lg
			r.prog.end("hold %v: proxy RSS %s (%d procs), %d up, %d dropped; loadgen RSS %s",
				at.Round(time.Second), mib(u.RSS), u.Procs, snap.Up-snap.Dropped, snap.Dropped, mib(lg.RSS))
		}))
	}
	res, err := loadtest.Run(ctx, lc)
	stopHold()
	if res != nil {
		r.fill(t, res)
	}
	if err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if loaded == nil || t.Up == 0 {
		return fmt.Errorf("only %d of %d connections came up (%v)", t.Up, t.Conns, res.FailReasons)
	}
	t.Loaded = *loaded
	t.ProxyCPU = t.Loaded.CPU - t.Before.CPU
	t.BytesPerConn = float64(t.Loaded.RSS-t.Before.RSS) / float64(t.Up)
	t.PSSPerConn = float64(t.Loaded.PSS-t.Before.PSS) / float64(t.Up)
	if res.Ramp > 0 {
		t.HandshakesPerSec = float64(t.Up) / res.Ramp.Seconds()
	}
	if t.Scenario == Ramp {
		t.CPUPerHandshake = t.ProxyCPU / time.Duration(t.Up)
	} else {
		t.CPUPerConn = t.ProxyCPU / time.Duration(t.Up)
	}
	return lost(t)
}

// holdInterval is how often the proxy is sampled during a hold of d:
// every 10 s, more often for holds shorter than 100 s.
func holdInterval(d time.Duration) time.Duration {
	return min(10*time.Second, max(500*time.Millisecond, d/10))
}

// lost reports connections that failed or dropped, after the numbers of
// those that did not have been recorded.
func lost(t *Trial) error {
	if t.Failed == 0 && t.Dropped == 0 {
		return nil
	}
	if t.Dropped > 0 {
		return fmt.Errorf("DROPPED: %d of %d connections dropped while held %v; %d failed to come up %v",
			t.Dropped, t.Up, t.DropReasons, t.Failed, t.FailReasons)
	}
	return fmt.Errorf("%d connections failed %v, %d dropped %v", t.Failed, t.FailReasons, t.Dropped, t.DropReasons)
}

// echo sends cfg.MsgSize-byte messages at cfg.EchoRate round trips per
// second in total over cfg.EchoConns connections for cfg.Duration.
func (r *runner) echo(ctx context.Context, p *proc, url string, t *Trial) error {
	lc := r.load(url, loadtest.Echo, r.cfg.EchoConns)
	lc.MsgRate = r.cfg.EchoRate / float64(r.cfg.EchoConns)
	lc.Size = r.cfg.MsgSize
	lc.Duration = r.cfg.Duration
	if err := r.measure(ctx, p, lc, t); err != nil {
		return err
	}
	if t.Messages > 0 {
		t.CPUPerMsg = t.ProxyCPU / time.Duration(2*t.Messages)
	}
	return nil
}

// bulk sends cfg.BulkSize-byte messages as fast as they go over
// cfg.BulkConns connections for cfg.Duration; p is nil for Direct.
func (r *runner) bulk(ctx context.Context, p *proc, url string, t *Trial) error {
	lc := r.load(url, loadtest.Bulk, r.cfg.BulkConns)
	lc.Size = r.cfg.BulkSize
	lc.Duration = r.cfg.Duration
	if err := r.measure(ctx, p, lc, t); err != nil {
		return err
	}
	if p != nil && t.Bytes > 0 {
		t.CPUPerMB = time.Duration(float64(t.ProxyCPU) * 1e6 / float64(t.Bytes))
	}
	return nil
}

// measure runs lc and takes the proxy's usage when every connection is up
// and when the Duration phase ends, so that its CPU is that of the
// messages counted: neither the handshakes' nor the close-down's.
func (r *runner) measure(ctx context.Context, p *proc, lc loadtest.Config, t *Trial) error {
	t.Conns = lc.Conns
	var before error = errors.New("no connection came up")
	var after error = errors.New("the Duration phase did not end")
	var others0, others1 time.Duration
	if p != nil {
		lc.OnReady = func(int) {
			t.Before, before = sampleGroup(p.pgid())
			others0 = r.othersCPU()
		}
		lc.OnRunEnd = func() {
			t.Loaded, after = sampleGroup(p.pgid())
			others1 = r.othersCPU()
		}
	}
	res, err := loadtest.Run(ctx, lc)
	if res != nil {
		r.fill(t, res)
	}
	if err != nil {
		return err
	}
	if t.Up == 0 {
		return fmt.Errorf("no connection came up (%v)", res.FailReasons)
	}
	if p != nil {
		if before != nil {
			return before
		}
		if after != nil {
			return after
		}
		t.ProxyCPU = t.Loaded.CPU - t.Before.CPU
		t.OthersCPU = others1 - others0
	}
	return lost(t)
}

// fill copies what loadtest measured into t.
func (r *runner) fill(t *Trial, res *loadtest.Result) {
	t.Up, t.Failed, t.FailReasons = res.Up, res.Failed, res.FailReasons
	t.Dropped, t.DropReasons = res.Dropped, res.DropReasons
	t.Handshake, t.RTT, t.LoadCPU = res.Handshake, res.RTT, res.CPU
	t.Messages, t.MsgsPerSec = res.Messages, res.MsgsPerSec
	t.MBPerSec, t.Bytes = res.BytesPerSec/1e6, res.Bytes
}

// flood pushes into the never-reading sink through the proxy for
// cfg.Duration and samples the proxy's RSS every 500 ms.
func (r *runner) flood(ctx context.Context, p *proc, listen string, t *Trial) error {
	const interval = 500 * time.Millisecond
	f := &FloodResult{Interval: interval}
	t.Flood, t.Conns = f, 1
	var err error
	if t.Before, err = sampleGroup(p.pgid()); err != nil {
		return err
	}
	var mu sync.Mutex
	var pushed int64
	sample := func() {
		u, err := sampleGroup(p.pgid())
		if err != nil {
			return
		}
		mu.Lock()
		f.Samples = append(f.Samples, u.RSS)
		r.prog.status("pushed %s, proxy RSS %s", mib(pushed), mib(u.RSS))
		mu.Unlock()
	}
	sample()
	stop := every(interval, sample)
	n, err := floodClient(ctx, listen, r.cfg.Sources[0], r.cfg.Duration, func(n int64) {
		mu.Lock()
		pushed = n
		mu.Unlock()
	})
	stop()
	sample()
	f.Pushed = n
	if err != nil {
		return err
	}
	t.Up = 1
	if t.Loaded, err = sampleGroup(p.pgid()); err != nil {
		return err
	}
	t.ProxyCPU = t.Loaded.CPU - t.Before.CPU
	f.First, f.Last, f.Min, f.Max = f.Samples[0], f.Samples[len(f.Samples)-1], f.Samples[0], f.Samples[0]
	for _, s := range f.Samples {
		f.Min, f.Max = min(f.Min, s), max(f.Max, s)
	}
	return nil
}

// every calls fn every d until the returned stop is called; stop waits for
// a running call to return.
func every(d time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(d)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
				fn()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// snapshotLine describes a loadtest snapshot in the progress line, or is
// empty while nothing has been dialled: nothing to report yet.
func snapshotLine(s loadtest.Snapshot) string {
	if s.Dialed == 0 {
		return ""
	}
	line := fmt.Sprintf("%s %.0fs: dialled %d, up %d, failed %d, dropped %d",
		s.Phase, s.Elapsed.Seconds(), s.Dialed, s.Up, s.Failed, s.Dropped)
	if s.Messages > 0 {
		line += fmt.Sprintf(", %d messages", s.Messages)
	}
	return line
}

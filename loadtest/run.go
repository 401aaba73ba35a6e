package loadtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Run opens cfg.Conns connections to cfg.URL, waits until each is up (a
// handshake and one verified echo) or failed, calls cfg.OnReady, runs the
// workload for cfg.Duration, closes every connection and returns the
// merged result. Beyond cfg.MaxPerProcess connections the work is spread
// over child processes (see the package doc), except for the Reconnect
// workload, whose phases are the first connections and the reconnections.
//
// A bad Config returns an error wrapping ErrConfig and no result. If ctx
// is canceled, Run closes everything and returns the partial result with
// ctx.Err(); a failing child returns the result of the others with an
// error wrapping ErrChild.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	start, cpu0 := time.Now(), cpuTime()
	var t *tally
	var err error
	switch {
	case cfg.Workload == Reconnect:
		t, err = runReconnect(ctx, &cfg, start)
	case cfg.Conns > cfg.MaxPerProcess:
		t, err = runChildren(ctx, &cfg, start)
	default:
		t, err = runLocal(ctx, &cfg, start)
	}
	if t == nil {
		return nil, err
	}
	t.CPU += cpuTime() - cpu0
	return t.result(cfg.Conns), err
}

// fileSlack is the descriptors a process needs besides its connections:
// standard files, pollers, eventfds, the runtime's own.
const fileSlack = 64

// runLocal runs cfg (defaults applied) in this process on cfg.Loops loops.
// Its tally has no CPU time: the caller measures that.
func runLocal(ctx context.Context, cfg *Config, start time.Time) (*tally, error) {
	if lim := fileLimit(); lim > 0 && cfg.Conns+fileSlack > lim {
		return nil, fmt.Errorf("%w: MaxPerProcess: %d connections in one process need about %d open files; the limit is %d",
			ErrConfig, cfg.Conns, cfg.Conns+fileSlack, lim)
	}
	pl, err := newPlan(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ready := make(chan struct{}, cfg.Loops)
	loops, err := makeLoops(pl, cfg, ready)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(loops))
	var wg sync.WaitGroup
	for i, l := range loops {
		wg.Go(func() { errs[i] = l.run() })
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var ph atomic.Int32
	var until atomic.Int64 // end of the run phase, ns since start
	stop := startProgress(cfg.Progress, func() Snapshot {
		s := sumLoops(loops)
		s.Elapsed = time.Since(start)
		p := phase(ph.Load())
		if p == phaseRun && int64(s.Elapsed) >= until.Load() {
			p = phaseClose
		}
		s.Phase = p.String()
		return s
	})
	defer stop()
	closeAll := func() {
		for _, l := range loops {
			l.post(command{})
		}
	}

	t := newTally()
	if waitReady(ctx, ready, len(loops)) {
		t.Ramp = time.Since(start)
		ph.Store(int32(phaseReady))
		if cfg.OnReady != nil {
			cfg.OnReady(sumLoops(loops).Up)
		}
	}
	var runStart time.Time
	endRun := func() {}
	if ctx.Err() == nil && cfg.Duration > 0 {
		runStart = time.Now()
		until.Store(int64(runStart.Add(cfg.Duration).Sub(start)))
		ph.Store(int32(phaseRun))
		for _, l := range loops {
			l.post(command{start: true, until: runStart.Add(cfg.Duration)})
		}
		endRun = afterOnce(cfg.OnRunEnd, cfg.Duration)
	} else {
		closeAll()
	}
	select {
	case <-done:
	case <-ctx.Done():
		endRun()
		closeAll()
		<-done
	}
	endRun()
	ph.Store(int32(phaseDone))
	for _, l := range loops {
		t.addLoop(l)
		if !runStart.IsZero() && !l.runEnd.IsZero() {
			t.Elapsed = max(t.Elapsed, l.runEnd.Sub(runStart))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return t, err
	}
	return t, ctx.Err()
}

// afterOnce calls fn once, d from now or when the returned function is
// called, whichever comes first; the returned function returns once fn
// has. A nil fn is never called.
func afterOnce(fn func(), d time.Duration) (now func()) {
	if fn == nil {
		return func() {}
	}
	once := sync.OnceFunc(fn)
	t := time.AfterFunc(d, once)
	return func() { t.Stop(); once() }
}

// makeLoops splits the connections and the dial rate evenly over
// cfg.Loops loops, each starting at its own source address.
func makeLoops(pl *plan, cfg *Config, ready chan<- struct{}) ([]*loop, error) {
	loops := make([]*loop, cfg.Loops)
	for i := range loops {
		quota := cfg.Conns / cfg.Loops
		if i < cfg.Conns%cfg.Loops {
			quota++
		}
		rate := float64(cfg.Rate) * float64(quota) / float64(cfg.Conns)
		pending := quota
		if cfg.Rate == 0 {
			pending = max(maxPending/cfg.Loops, 1)
		}
		first := 0
		if len(cfg.Sources) > 0 {
			first = i % len(cfg.Sources)
		}
		l, err := newLoop(pl, quota, rate, pending, cfg.Sources, first, ready)
		if err != nil {
			for _, l := range loops[:i] {
				l.p.Close()
			}
			return nil, err
		}
		loops[i] = l
	}
	return loops, nil
}

// waitReady waits until n loops have finished their ramp and reports
// whether they all did before ctx was canceled.
func waitReady(ctx context.Context, ready <-chan struct{}, n int) bool {
	for range n {
		select {
		case <-ready:
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// sumLoops adds up the loops' running counters; safe while they run.
func sumLoops(loops []*loop) Snapshot {
	var s Snapshot
	for _, l := range loops {
		s.Dialed += int(l.cnt.dialed.Load())
		s.Up += int(l.cnt.up.Load())
		s.Failed += int(l.cnt.failed.Load())
		s.Dropped += int(l.cnt.dropped.Load())
		s.Messages += l.cnt.msgs.Load()
		s.Bytes += l.cnt.bytes.Load()
	}
	return s
}

// startProgress calls fn(snap()) once a second until the returned stop
// function is called. A nil fn starts nothing.
func startProgress(fn func(Snapshot), snap func() Snapshot) (stop func()) {
	if fn == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				fn(snap())
			case <-quit:
				return
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// cpuTime returns the user+system CPU time this process has used.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fileLimit returns the soft open-file limit (Go raises it to the hard
// limit at start-up), or 0 if unknown.
func fileLimit() int {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil || rl.Cur > 1<<30 {
		return 0
	}
	return int(rl.Cur)
}

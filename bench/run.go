package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"wsproxy/config"
)

// startTimeout bounds how long a backend or proxy may take to listen.
const startTimeout = 10 * time.Second

// runner runs the trials of one Run.
type runner struct {
	cfg  Config
	prog *progress

	backends []*proc // the running trial's echo backends
}

// Run runs every scenario of cfg through wsproxy and then each peer, in
// rounds, and returns the results. Each trial starts its own backends and
// proxy as subprocesses and stops them (their whole process groups) before
// the next trial starts, also when ctx is cancelled (Ctrl-C) or the trial
// fails. The error joins the errors of the failed trials; the report holds
// every trial that ran, failed or not.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, prog: newProgress(cfg.Progress)}
	rep := &Report{Machine: machineInfo(cfg.files, cfg.Peers), Size: cfg.size, Plan: cfg.plan, TLS: cfg.TLS, TLSKey: cfg.TLSKey, Curves: cfg.Curves, Rate: cfg.Rate}
	if cfg.Progress != nil {
		fmt.Fprintln(cfg.Progress, sizingLine(cfg))
	}
	var errs []error
	for _, sc := range cfg.Scenarios {
		for round := 1; round <= cfg.Rounds; round++ {
			for _, px := range r.proxiesFor(sc) {
				t := r.trial(ctx, sc, px, round)
				rep.Trials = append(rep.Trials, t)
				if t.Err != "" {
					errs = append(errs, fmt.Errorf("%s through %s: %s", sc, px, t.Err))
				}
				if ctx.Err() != nil {
					rep.Units = rep.UnitCosts()
					return rep, errors.Join(append(errs, fmt.Errorf("bench: interrupted: %w", ctx.Err()))...)
				}
			}
		}
	}
	rep.Units = rep.UnitCosts()
	return rep, errors.Join(errs...)
}

// proxiesFor lists what scenario sc runs through: the bulk baseline without
// a proxy first, then wsproxy, then the peers.
func (r *runner) proxiesFor(sc string) []string {
	var ps []string
	if sc == Bulk {
		ps = append(ps, Direct)
	}
	return append(append(ps, Wsproxy), r.cfg.Peers...)
}

// trial runs scenario sc through proxy px, within cfg.Timeout.
func (r *runner) trial(ctx context.Context, sc, px string, round int) Trial {
	t := Trial{Scenario: sc, Proxy: px, Round: round}
	r.prog.begin(fmt.Sprintf("%s %s #%d", sc, px, round))
	if n := r.conns(sc); px == HAProxy && n > r.cfg.size.HAProxyMax {
		t.Conns = n
		t.Skipped = fmt.Sprintf("HAProxy 2.6 is one process (threads, not worker processes): (%d open files − %d reserved) / 2 "+
			"descriptors per proxied connection = %d connections at most, fewer than %d", r.cfg.files, fdReserve, r.cfg.size.HAProxyMax, n)
		r.prog.end("skipped: %s", t.Skipped)
		return t
	}
	start := time.Now()
	tctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	err := r.run(tctx, &t)
	t.Elapsed = time.Since(start)
	switch {
	case err != nil && ctx.Err() != nil:
		t.Err = "interrupted"
	case err != nil && errors.Is(tctx.Err(), context.DeadlineExceeded):
		t.Err = fmt.Sprintf("no result within %v (-timeout; %d of %d connections were up): %v", r.cfg.Timeout, t.Up, t.Conns, err)
	case err != nil:
		t.Err = err.Error()
	}
	r.prog.end("%s", summary(t))
	return t
}

// run sets up backends and the proxy for t and runs its scenario.
func (r *runner) run(ctx context.Context, t *Trial) error {
	dir, err := os.MkdirTemp("", "wsproxy-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// nginx's workers run as an unprivileged user and need to reach dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	var g group
	defer g.stop()
	r.backends = nil

	var backends []string
	switch t.Scenario {
	case Flood:
		s, err := newSink()
		if err != nil {
			return err
		}
		defer s.close()
		backends = []string{s.addr()}
	case Bulk:
		// One backend, so that direct and proxied runs are served alike.
		backends, err = r.startEchos(ctx, &g, dir, 1)
	default:
		backends, err = r.startEchos(ctx, &g, dir, r.cfg.Backends)
	}
	if err != nil {
		return err
	}
	if t.Proxy == Direct {
		return r.bulk(ctx, nil, "ws://"+backends[0]+"/ws", t)
	}
	if t.Scenario == Reload {
		return r.reload(ctx, &g, dir, backends, t)
	}

	conns := r.conns(t.Scenario)
	p, listen, err := r.startProxy(ctx, &g, t.Proxy, dir, backends, conns)
	if err != nil {
		return err
	}
	scheme := "ws://"
	if r.cfg.TLS {
		scheme = "wss://"
		if t.TLSNegotiated, err = probeTLS(listen); err != nil {
			return err
		}
	}
	url := scheme + listen + servicePath + "/ws"
	switch t.Scenario {
	case Idle:
		return r.idle(ctx, p, url, t)
	case Flood:
		return r.flood(ctx, p, listen, t)
	case Ramp:
		return r.ramp(ctx, p, url, t)
	case Echo:
		return r.echo(ctx, p, url, t)
	case Bulk:
		return r.bulk(ctx, p, url, t)
	case Resume:
		return r.resume(ctx, p, url, t)
	}
	return fmt.Errorf("bench: unknown scenario %q", t.Scenario)
}

// conns is how many connections scenario sc holds at once.
func (r *runner) conns(sc string) int {
	switch sc {
	case Echo:
		return r.cfg.EchoConns
	case Flood, Bulk:
		return 64
	case Resume:
		// Connections are short: at most a few hundred are open at once.
		return min(r.cfg.ResumeClients, 1000)
	case Reload:
		return min(r.cfg.Conns, ReloadMaxConns)
	}
	return r.cfg.Conns
}

// startEchos starts n echo backends ("wsproxy echo"), one process each on
// a port it binds itself (port 0) and writes to a file in dir, and waits
// until they listen.
func (r *runner) startEchos(ctx context.Context, g *group, dir string, n int) ([]string, error) {
	addrs := make([]string, n)
	procs := make([]*proc, n)
	for i := range n {
		id := fmt.Sprintf("echo-%d", i+1)
		file := filepath.Join(dir, id+".addr")
		p, err := startProc("echo backend "+id, []string{r.cfg.Binary, "echo", "-listen", "127.0.0.1:0", "-id", id, "-loops", "1", "-addr-file", file}, nil)
		if err != nil {
			return nil, err
		}
		g.add(p)
		procs[i] = p
	}
	for i, p := range procs {
		addr, err := p.waitAddrFile(ctx, filepath.Join(dir, fmt.Sprintf("echo-%d.addr", i+1)), startTimeout)
		if err != nil {
			return nil, err
		}
		addrs[i] = addr
	}
	r.backends = procs
	return addrs, nil
}

// startProxy writes the configuration of proxy name in front of backends
// into dir, starts the proxy and waits until it listens. It returns the
// process and the address it listens on: wsproxy binds port 0 and writes
// the port it got to -addr-file; nginx and HAProxy are handed a socket
// listening on a port the kernel picked (listenFile).
func (r *runner) startProxy(ctx context.Context, g *group, name, dir string, backends []string, conns int) (*proc, string, error) {
	s := setup{Listen: "127.0.0.1:0", Backends: backends, Conns: conns, Files: r.cfg.files, Dir: dir, Loops: r.cfg.Loops, Affinity: r.cfg.Affinity}
	return r.startWith(ctx, g, name, s, r.cfg.Binary)
}

// startWith is startProxy from a setup, with bin the wsproxy executable
// (the reload scenario runs a copy it can replace).
func (r *runner) startWith(ctx context.Context, g *group, name string, s setup, bin string) (*proc, string, error) {
	var err error
	conns := s.Conns
	if r.cfg.TLS {
		if s.TLS, err = writeTLSFiles(s.Dir, r.cfg.TLSKey); err != nil {
			return nil, "", err
		}
		if r.cfg.Curves == CurvesSame {
			s.Curves = sameCurves
		}
	}
	listeners := 1
	if conns > PerProcess {
		s.Scale, s.Workers, s.NginxWorkers = true, r.cfg.Workers, r.cfg.size.NginxWorkers
		switch name {
		case Wsproxy:
			listeners = s.Workers
		case Nginx:
			listeners = s.NginxWorkers
		}
	} else if r.cfg.Workers > 1 && name == Wsproxy {
		s.Workers, listeners = r.cfg.Workers, r.cfg.Workers // -workers asked for it
	} else if s.Workers > 1 && name == Wsproxy {
		listeners = s.Workers // a master (the reload scenario)
	}
	px := proxies[name]
	var env []string
	var files []*os.File
	if name != Wsproxy {
		if bin, err = lookPeer(name); err != nil {
			return nil, "", err
		}
		addr, f, err := listenFile(s.Scale && name == Nginx)
		if err != nil {
			return nil, "", err
		}
		defer f.Close() // the proxy holds its own copy once started
		s.Listen, files = addr, []*os.File{f}
		env = append(os.Environ(), px.env...)
	}
	text := px.config(s)
	if name == Wsproxy {
		if _, err := config.Parse(px.file, []byte(text)); err != nil {
			return nil, "", fmt.Errorf("bench: generated wsproxy config is invalid (a bug in bench): %w", err)
		}
	}
	file := filepath.Join(s.Dir, px.file)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return nil, "", err
	}
	p, err := startProc(name, px.argv(bin, file, s), env, files...)
	if err != nil {
		return nil, "", err
	}
	g.add(p)
	listen := s.Listen
	if name == Wsproxy {
		if listen, err = p.waitAddrFile(ctx, s.path("addrs"), startTimeout); err != nil {
			return nil, "", err
		}
	} else if err := p.waitServing(ctx, listen, startTimeout); err != nil {
		return nil, "", err
	}
	// With SO_REUSEPORT each worker has a listener of its own, and the
	// kernel spreads connections over those that exist when they arrive.
	if err := p.waitListeners(ctx, listen, listeners, startTimeout); err != nil {
		return nil, "", err
	}
	return p, listen, nil
}

// sizingLine describes how the run is spread, for the progress output;
// it names only the peers that run.
func sizingLine(c Config) string {
	z := c.size
	var b strings.Builder
	fmt.Fprintf(&b, "sizing: %d connections; wsproxy %d worker(s)", z.Conns, z.Workers)
	if slices.Contains(c.Peers, Nginx) {
		fmt.Fprintf(&b, "; nginx worker_processes %d (0: auto)", z.NginxWorkers)
	}
	if slices.Contains(c.Peers, HAProxy) {
		fmt.Fprintf(&b, "; HAProxy ≤ %d", z.HAProxyMax)
	}
	fmt.Fprintf(&b, "; %d echo backends; sources %s-%s (%d); load generator %d process(es); scale mode %v\n%s",
		z.Backends, c.Sources[0], c.Sources[len(c.Sources)-1], len(c.Sources), z.LoadProcs, z.Scale, c.plan)
	return b.String()
}

// othersCPU is the CPU time so far of the load generator (this process and
// its loadtest children) and of the running trial's echo backends.
func (r *runner) othersCPU() time.Duration {
	cpu := sampleLoadgen().CPU
	for _, b := range r.backends {
		if u, err := sampleGroup(b.pgid()); err == nil {
			cpu += u.CPU
		}
	}
	return cpu
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/examples"
	"wsproxy/internal/asynclog"
	"wsproxy/internal/echo"
	"wsproxy/internal/gcroom"
	"wsproxy/internal/handover"
	"wsproxy/internal/master"
)

func newLogger(level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(logOut(), &slog.HandlerOptions{Level: lv}))
}

// logOut is stderr for the log of the serving commands, through a buffer
// of 256 KiB and a goroutine (internal/asynclog): the event loops log
// upgrades, closes and 5xx answers, and a slow reader of stderr must not
// stall them. Lines that do not fit are dropped and counted. main closes
// it, which writes out the rest, before the process exits.
var logOut = sync.OnceValue(func() *asynclog.Writer { return asynclog.New(os.Stderr, 256<<10) })

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	file := fs.String("config", "", "YAML config file")
	listen := fs.String("listen", "", "quick mode: address to listen on (with -upstream)")
	upstream := fs.String("upstream", "", "quick mode: upstream host:port for every request")
	loops := fs.Int("loops", 0, "event loops (0: config value, default one per CPU)")
	workers := fs.Int("workers", 0, "worker processes (0: config value, default 1); more than one starts a master")
	asMaster := fs.Bool("master", false, "start a master even for one worker, so that SIGHUP reloads")
	level := fs.String("log-level", "", "debug, info, warn or error (default: the config's log.level, info)")
	addrFile := fs.String("addr-file", "", "once serving, write the bound addresses to this file (\"listen ADDR\" and \"admin ADDR\" lines): for port 0")
	_ = fs.Parse(args)
	log := newLogger(*level)
	load := func() (master.Source, error) { return loadSource(*file, *listen, *upstream) }

	w, err := master.FromEnv()
	if err != nil {
		return err
	}
	if w != nil {
		// A worker: the master passes SIGINT on as SIGTERM, and a terminal
		// sends Ctrl-C to the whole process group, so SIGINT is ignored.
		signal.Ignore(syscall.SIGINT)
		log = log.With("worker", w.Name(), "pid", os.Getpid())
		if _, err := master.RaiseFileLimit(); err != nil {
			log.Warn("cannot raise the open-files limit", "err", err)
		}
		cfg, err := w.Config(load)
		if err != nil {
			return err
		}
		if cfg.LoopsAuto {
			cfg.Loops = config.AutoLoops(w.Spec.Workers)
		}
		log = configLogger(cfg.Log, *level).With("worker", w.Name(), "pid", os.Getpid())
		sids, err := sharedSids(w, cfg)
		if err != nil {
			return err
		}
		hint := fmt.Sprintf("SIGHUP ignored: reload by sending it to the master (pid %d)", os.Getppid())
		opts := core.Options{SidStore: sids, TicketSecret: w.Spec.TicketSecret, Listeners: w.Listeners}
		ho := &handover.Worker{Log: log}
		w.ServeHandover(ho) // before serveControl starts the control channel
		onHUP := func(*core.Server) { log.Warn(hint) }
		// The master writes -addr-file, which its workers inherit.
		ready := func(srv *core.Server, _ string) error {
			serveControl(w, &applier{srv: srv, log: log, loops: *loops, flagLevel: *level, workers: w.Spec.Workers, listen: w.Spec.Listen})
			return w.Ready()
		}
		return serve(cfg, *loops, w.Slot, log, opts, ho, ready, onHUP, syscall.SIGTERM)
	}

	src, err := load()
	if err != nil {
		return err
	}
	log = configLogger(src.Config.Log, *level)
	n := src.Config.Workers
	if *workers > 0 {
		n = *workers
	}
	limit, err := master.RaiseFileLimit()
	if err != nil {
		log.Warn("cannot raise the open-files limit", "err", err)
	}
	var want int64 // limits.max_conns caps each process; 0: no cap
	if mc := src.Config.Limits.MaxConns; mc > 0 {
		want = int64(n) * int64(mc)
	}
	master.LogCapacity(log, n, limit, want)
	isDemo := *file == "" && *listen == "" && *upstream == ""
	if isDemo { // the master (or the single process) runs the demo's backends
		demo, err := startDemoBackends(src.Config, log)
		if err != nil {
			return err
		}
		defer func() {
			for _, e := range demo {
				e.Close()
			}
		}()
	}
	if *addrFile != "" {
		defer os.Remove(*addrFile)
	}
	if n > 1 || *asMaster {
		ups := new(masterUpstreams)
		handed := &master.HandoverCounts{}
		env, adminAddr, stopAdmin, err := startMasterAdmin(src.Config, log, ups, handed)
		if err != nil {
			return err
		}
		defer stopAdmin()
		// Once a generation serves, the master trims its own start-up
		// pages too (from a goroutine: Serving must not block).
		serving := func(listen []string) {
			go trimStartupPages(src.Config.Memory, log)
			holdMasterWhileQuiet(src.Config.Memory, log)
			if *addrFile == "" {
				return
			}
			if err := writeAddrFile(*addrFile, listen, adminAddr); err != nil {
				log.Error("cannot write the addresses", "err", err)
			}
		}
		m, err := master.New(master.Config{Load: load, Workers: *workers, Loops: *loops, Args: append([]string{"run"}, args...), Logger: log, Env: env,
			DrainLimit: core.DrainLimit, Reloaded: reloads.Note, Handover: handed, Serving: serving})
		if err != nil {
			return err
		}
		ups.m.Store(m)
		return m.Run(src)
	}
	ready := func(srv *core.Server, adminAddr string) error {
		if *addrFile != "" {
			var listen []string
			for _, a := range srv.Addrs() {
				listen = append(listen, a.String())
			}
			if err := writeAddrFile(*addrFile, listen, adminAddr); err != nil {
				return err
			}
		}
		if isDemo {
			printDemo(srv)
		}
		return nil
	}
	reloadVersion.Store(1)
	reloads.Note("", 1)
	onHUP := func(srv *core.Server) {
		a := &applier{srv: srv, log: log, loops: *loops, flagLevel: *level}
		a.reload(load)
	}
	return serve(src.Config, *loops, 0, log, core.Options{}, nil, ready, onHUP, syscall.SIGTERM, syscall.SIGINT)
}

// loadSource reads the configuration the flags name: a file, quick mode
// (-listen and -upstream), or else the embedded seed.
func loadSource(file, listen, upstream string) (master.Source, error) {
	switch {
	case file != "":
		data, err := os.ReadFile(file)
		if err != nil {
			return master.Source{}, err
		}
		cfg, err := config.Parse(file, data)
		return master.Source{Config: cfg, Name: file, Data: data}, err
	case listen != "" || upstream != "":
		if listen == "" || upstream == "" {
			return master.Source{}, fmt.Errorf("quick mode needs both -listen and -upstream")
		}
		cfg := config.Quick(listen, upstream)
		return master.Source{Config: cfg}, cfg.Validate()
	default:
		const name = "examples/seed.yaml (embedded)"
		cfg, err := config.Parse(name, examples.Seed)
		return master.Source{Config: cfg, Name: name, Data: examples.Seed}, err
	}
}

// serve runs one proxy process until one of stop arrives, then drains it
// for the configured drain_timeout; a second stop signal closes at once.
// ready runs once every listener is bound, with the admin listener's
// address ("" if this process serves none); onHUP on SIGHUP (a process
// without a master reloads in place, a worker says to ask its master).
// base holds what a worker's master hands it (core.Options.SidStore and
// TicketSecret): zero in a process without a master; ho is the worker's
// side of the hand-over of tunnels to a new generation, nil without one;
// slot is the worker's (0 without a master), which cpu_affinity binds by.
// A process without a master is the one that stops on SIGINT.
func serve(cfg *config.Config, loops, slot int, log *slog.Logger, base core.Options, ho *handover.Worker,
	ready func(srv *core.Server, adminAddr string) error, onHUP func(*core.Server), stop ...os.Signal) error {
	single := slices.Contains(stop, os.Signal(syscall.SIGINT))
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, append(stop, syscall.SIGHUP, syscall.SIGUSR2)...)
	defer signal.Stop(sig)
	var srvp *core.Server // for the signal handling below, set once started
	next := func() os.Signal {
		for s := range sig {
			switch {
			case s == syscall.SIGUSR2:
				// Renewed certificates are picked up in place: no open
				// connection is closed.
				if err := srvp.ReloadCertificates(); err != nil {
					log.Error("certificate reload failed; the old certificates stay", "err", err)
				} else {
					log.Info("certificates reloaded", "signal", s.String())
				}
			case s == syscall.SIGHUP:
				onHUP(srvp)
			default:
				return s
			}
		}
		return nil
	}
	if loops > 0 {
		cfg.Loops = loops
	}
	setProcs(cfg.Loops)
	opts := envOptions()
	opts.Logger, opts.SidStore, opts.TicketSecret, opts.Listeners = log, base.SidStore, base.TicketSecret, base.Listeners
	opts.AfterRelease = trimAfterBurst(cfg.Memory, log)
	opts.IdleGC = idleHold(cfg.Memory, log)
	srv, err := core.New(cfg, opts)
	srvp = srv
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	if ho != nil {
		ho.Proxy = srv
		ho.Tunnels = func() int { return int(tunnelsOpen(srv.Metrics())) }
	}
	adminAddr, stopAdmin, err := startProcessAdmin(cfg, srv, log, ho)
	if err != nil {
		srv.Close()
		return err
	}
	defer stopAdmin()
	for _, a := range srv.Addrs() {
		log.Info("listening", "addr", a.String(), "loops", cfg.Loops, "version", version, "crypto", cryptoBackend(), "rsa", rsaSigner())
	}
	if err := ready(srv, adminAddr); err != nil {
		srv.Close()
		return err
	}
	trimStartupPages(cfg.Memory, log)
	stopGov := governProcs(cfg, slot, log, srv.SetProcs)
	stopRoom := gcroom.Start(func(p int) { log.Debug("gc percent changed", "gogc", p) })
	s := next()
	stopRoom()
	stopGov()
	if single {
		// One line for whoever pressed Ctrl-C (a worker leaves it to its
		// master): Drain returns as soon as nothing is open.
		msg := fmt.Sprintf("stopping: open connections get up to %s to finish; a second Ctrl-C or SIGTERM closes them at once",
			core.DrainLimit(time.Duration(cfg.DrainTimeout)).Round(time.Second))
		log.Info(msg, "signal", s.String(), "open", srv.Open())
		stopHint(os.Stderr, isTerminal(os.Stderr), log, msg)
	} else {
		log.Info("stopping: draining", "signal", s.String(), "drain_timeout", cfg.DrainTimeout)
	}
	closeSrv := sync.OnceFunc(srv.Close)
	go func() {
		log.Info("stopping now: closing every connection", "signal", next().String())
		closeSrv() // Drain returns once the connections are gone
	}()
	srv.Drain(time.Duration(cfg.DrainTimeout))
	closeSrv()
	log.Info("stopped")
	return nil
}

// startDemoBackends starts one echo backend per server address of the seed
// config, named echo-1, echo-2, ...
func startDemoBackends(cfg *config.Config, log *slog.Logger) ([]*echo.Server, error) {
	seen := map[string]bool{}
	var out []*echo.Server
	for _, name := range []string{"webpush"} {
		for i, s := range cfg.Upstreams[name].Servers {
			if seen[s.Addr] {
				continue
			}
			seen[s.Addr] = true
			e, err := echo.New(s.Addr, fmt.Sprintf("echo-%d", i+1), 1, log)
			if err != nil {
				return nil, fmt.Errorf("demo backend: %w (is another demo running?)", err)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func printDemo(srv *core.Server) {
	a := srv.Addrs()[0].String()
	fmt.Printf(`
wsproxy demo: the seed's topology on loopback (examples/seed.yaml)
  three echo backends on 127.0.0.1:10081-10083, behind http://%[1]s

  HTTP  http://%[1]s/hello                      -> echo-1, path unchanged
  HTTP  http://%[1]s/services/myservice/hello   -> webpush group, rewritten to /hello
  WS    ws://%[1]s/services/myservice/socket    -> webpush group, rewritten to /socket

try:
  curl -s http://%[1]s/services/myservice/hello?x=1
`, a)
	// One request through the proxy, so the demo shows it working.
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + a + "/services/myservice/hello?x=1")
	if err != nil {
		fmt.Println("  self-check failed:", err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("\nself-check: GET /services/myservice/hello?x=1 -> %s\n  %s\n", resp.Status, strings.TrimSpace(string(body)))
	fmt.Println("\nCtrl-C to stop.")
}

func checkCmd(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	file := fs.String("config", "", "YAML config file")
	_ = fs.Parse(args)
	if *file == "" {
		return fmt.Errorf("check: -config FILE is required")
	}
	cfg, err := config.Load(*file)
	if err == nil {
		// Loads what the file only names: TLS certificates and keys,
		// upstream host names. Nothing is bound or started.
		_, err = core.New(cfg, core.Options{Logger: slog.New(slog.DiscardHandler)})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: ok\n", *file)
	return nil
}

// stopHint writes msg, the line that says how to stop at once, to w when
// the log level hides it (log.level warn or error) and w is a terminal:
// whoever pressed Ctrl-C then learns why the process has not exited yet,
// without the line going to a log collector that asked for warnings only.
func stopHint(w io.Writer, tty bool, log *slog.Logger, msg string) {
	if tty && !log.Enabled(context.Background(), slog.LevelInfo) {
		fmt.Fprintln(w, "wsproxy: "+msg)
	}
}

func echoCmd(args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:10080", "address to listen on")
	id := fs.String("id", "echo", "name reported in responses (X-Echo-Id, JSON id)")
	loops := fs.Int("loops", 1, "event loops")
	addrFile := fs.String("addr-file", "", "once listening, write \"listen ADDR\" to this file: for port 0")
	_ = fs.Parse(args)
	log := newLogger("info")
	e, err := echo.New(*listen, *id, *loops, log)
	if err != nil {
		return err
	}
	log.Info("echo backend listening", "addr", e.Addr().String(), "id", *id)
	if *addrFile != "" {
		defer os.Remove(*addrFile)
		if err := writeAddrFile(*addrFile, []string{e.Addr().String()}, ""); err != nil {
			e.Close()
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	e.Close()
	return nil
}

// envOptions reads the switches kept for measuring with and without a
// feature: WSPROXY_SPLICE=0, WSPROXY_TLS_TRIM=0, WSPROXY_RELEASE_MEMORY=0
// (BENCHMARKS.md). They are read here, once; core takes them as Options.
func envOptions() core.Options {
	off := func(name string) bool { return os.Getenv(name) == "0" }
	return core.Options{
		NoSplice:        off("WSPROXY_SPLICE"),
		NoTLSTrim:       off("WSPROXY_TLS_TRIM"),
		NoReleaseMemory: off("WSPROXY_RELEASE_MEMORY"),
	}
}

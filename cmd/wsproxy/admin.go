package main

import (
	"log/slog"
	"os"
	"time"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/core/metrics"
	"wsproxy/internal/admin"
	"wsproxy/internal/handover"
	"wsproxy/internal/master"
)

// configLogger returns the logger the configuration's log section asks
// for; flagLevel (-log-level), when given, wins over log.level.
func configLogger(lc config.Log, flagLevel string) *slog.Logger {
	log, err := admin.NewLoggerVar(logOut(), lc, flagLevel, logLevel)
	if err == nil {
		return log
	}
	if log, _ = admin.NewLoggerVar(logOut(), lc, "", logLevel); log == nil {
		log = slog.Default()
	}
	log.Warn("ignoring -log-level", "err", err)
	return log
}

// startProcessAdmin starts what a serving process offers operators: in a
// worker whose master serves the admin listener, its snapshot on a unix
// socket; in a process without a master, the admin listener itself, if
// configured. A worker never serves the admin address itself. It returns
// the admin listener's address ("" when this process serves none) and a
// function that stops it.
//
// A worker's snapshot adds the tunnels it received from an old worker (ho).
func startProcessAdmin(cfg *config.Config, srv *core.Server, log *slog.Logger, ho *handover.Worker) (addr string, stop func(), err error) {
	if dir := os.Getenv(admin.EnvDir); dir != "" {
		snapshot := srv.Metrics
		if ho != nil {
			snapshot = func() metrics.Snapshot {
				m := srv.Metrics()
				received, refused := ho.Counts()
				m.Handover.Received, m.Handover.Refused = received, refused
				return m
			}
		}
		s, err := admin.ServeWorker(dir, snapshot, serverDrain(srv))
		if err != nil {
			log.Warn("cannot serve metrics to the master", "dir", dir, "err", err)
			return "", func() {}, nil
		}
		return "", func() { s.Close() }, nil
	}
	if cfg.Admin == nil || os.Getenv(master.EnvWorker) != "" {
		return "", func() {}, nil
	}
	s, err := admin.Start(admin.Config{Admin: *cfg.Admin, Metrics: srv.Metrics, Logger: log, Drain: serverDrain(srv),
		Reloads: reloads, Upstreams: processUpstreams{srv}})
	if err != nil {
		return "", nil, err
	}
	return s.Addr().String(), func() { s.Close() }, nil
}

// startMasterAdmin starts a master's admin listener, which sums the
// workers' snapshots, and returns the workers' environment (nil: the
// master's own) and the listener's address ("" without one). The listener
// keeps the address it started with across reloads. The returned function
// stops it.
//
// The master adds the tunnels its old workers handed over and kept
// (handed), which it learns from their answers.
func startMasterAdmin(cfg *config.Config, log *slog.Logger, ups admin.Upstreams, handed *master.HandoverCounts) (env []string, addr string, stop func(), err error) {
	if cfg.Admin == nil {
		return nil, "", func() {}, nil
	}
	dir, err := os.MkdirTemp("", "wsproxy-admin-")
	if err != nil {
		return nil, "", nil, err
	}
	workers := &admin.Workers{Dir: dir, Logger: log}
	snapshot := func() metrics.Snapshot {
		m := workers.Snapshot()
		m.Handover.Sent += handed.Sent.Load()
		m.Handover.Kept += handed.Kept.Load()
		return m
	}
	s, err := admin.Start(admin.Config{Admin: *cfg.Admin, Metrics: snapshot, Logger: log, Drain: workers.Drain,
		Reloads: reloads, Upstreams: ups})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", nil, err
	}
	env = append(os.Environ(), admin.EnvDir+"="+dir)
	return env, s.Addr().String(), func() { s.Close(); os.RemoveAll(dir) }, nil
}

// serverDrain adapts a Server's DrainServer/UndrainServer to the admin API.
func serverDrain(srv *core.Server) admin.DrainFunc {
	return func(upstream, server string, window time.Duration, undrain bool) (int, error) {
		if undrain {
			return 0, srv.UndrainServer(upstream, server)
		}
		return srv.DrainServer(upstream, server, window)
	}
}

// tunnelsOpen sums the tunnels open on every route of m.
func tunnelsOpen(m metrics.Snapshot) int64 {
	var n int64
	for _, r := range m.Routes {
		n += r.TunnelsOpen
	}
	return n
}

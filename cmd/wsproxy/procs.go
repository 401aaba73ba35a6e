package main

import (
	"log/slog"
	"os"
	"runtime"
	"slices"

	"wsproxy/config"
	"wsproxy/internal/affinity"
	"wsproxy/internal/procgov"
)

// How many Ps a serving process runs on, and on which CPUs.

// setProcs gives the Go scheduler one P more than there are event loops,
// unless GOMAXPROCS is set in the environment. The spare P runs TLS
// handshakes, health checks, the admin server and the garbage collector's
// work beside busy loops. (It was first added for loops that blocked their
// thread in epoll_wait, which sysmon took the P of; idle loops now park in
// the runtime's netpoller instead: poller/park_linux.go.) BENCHMARKS.md
// ("CPU per relayed message", "An idle loop parks") has the measurements.
func setProcs(loops int) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(loops + 1)
}

// governProcs starts the procs governor (internal/procgov) when the
// configuration says adaptive and no GOMAXPROCS is set in the
// environment, and returns what stops it. When the process stops it gets
// every P back, for the drain. With cpu_affinity: auto the process is
// bound to as many CPUs as it has Ps, worker slot's own first, each time
// the governor changes the count; and onProcs, if not nil, is told each
// new count (core.Server.SetProcs: tunnels gather on one loop while the
// process runs on one P).
func governProcs(cfg *config.Config, slot int, log *slog.Logger, onProcs func(int)) (stop func()) {
	bind := bindCPUs(cfg, slot, log)
	if cfg.Procs != config.ProcsAdaptive || os.Getenv("GOMAXPROCS") != "" {
		bind(runtime.GOMAXPROCS(0))
		return func() {}
	}
	max := runtime.GOMAXPROCS(0)
	bind(max)
	stopGov := procgov.Start(max, func(n int) {
		log.Debug("procs changed", "gomaxprocs", n)
		bind(n)
		if onProcs != nil {
			onProcs(n)
		}
	})
	return func() {
		stopGov()
		bind(max)
	}
}

// bindCPUs returns what binds the process to the CPUs of worker slot
// for a count of Ps (internal/affinity) when cfg says cpu_affinity: auto,
// else a no-op. The CPUs it may use are read once, now.
func bindCPUs(cfg *config.Config, slot int, log *slog.Logger) func(procs int) {
	if cfg.CPUAffinity != config.AffinityAuto {
		return func(int) {}
	}
	allowed, err := affinity.Allowed()
	if err != nil {
		log.Warn("cpu_affinity: auto: the CPUs this process may use are unknown; not binding", "err", err)
		return func(int) {}
	}
	var last []int
	return func(procs int) {
		cpus := affinity.Plan(allowed, slot, procs)
		if slices.Equal(cpus, last) {
			return
		}
		if err := affinity.Bind(cpus); err != nil {
			log.Warn("cpu_affinity: cannot bind", "cpus", cpus, "err", err)
			return
		}
		if last == nil {
			log.Info("cpu affinity", "cpus", cpus, "of", allowed)
		} else {
			log.Debug("cpu affinity", "cpus", cpus)
		}
		last = cpus
	}
}

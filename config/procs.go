package config

// Values of Config.Procs.
//
// A process runs its event loops as goroutines on the Go scheduler's Ps
// (GOMAXPROCS). With "all", it has one P per loop plus a spare one (for
// TLS handshakes, health checks, the admin server and the garbage
// collector) for its whole life. With "adaptive", the default, it has
// one P until it uses 0.85 of a CPU (one P nearly saturated), then those
// until it has used less than 0.7 of a CPU for 0.3 s. On one P the loops
// take turns on one thread, which relays small messages for about a
// quarter less CPU and bulk data for a third less, because a loop that
// wakes no longer makes the scheduler wake a second thread for an idle P
// (internal/procgov; BENCHMARKS.md, "Adaptive GOMAXPROCS", "Bulk on one
// P"). What it costs: a process that goes from quiet to busy in one step
// (a reconnect storm) runs on one CPU until the next sample (100 ms; up
// to a second from idle), and a load that does not fill one CPU stays on it. A GOMAXPROCS
// environment variable overrides both and
// fixes the count.
const (
	ProcsAdaptive = "adaptive"
	ProcsAll      = "all"
)

// Values of Config.CPUAffinity.
//
// With "auto", as nginx's worker_cpu_affinity auto, worker i (the only
// process: 0) runs on the i-th CPU the process may use, wrapping around;
// while the procs governor gives it more than one P it runs on as many
// CPUs, its own first. A process's loop threads then stay on one CPU's
// caches: on the benchmark VM a small-message relay costs 20-35 % less CPU
// when messages come in bursts, about 3 % when they come spread out
// (internal/affinity; BENCHMARKS.md, "CPU affinity"). What it costs: a
// process cannot move away from a CPU that other work keeps busy. "off",
// the default, leaves placement to the kernel.
const (
	AffinityOff  = "off"
	AffinityAuto = "auto"
)

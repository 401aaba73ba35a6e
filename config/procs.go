package config

// Values of Config.Procs.
//
// A process runs its event loops as goroutines on the Go scheduler's Ps
// (GOMAXPROCS). With "all", it has one P per loop plus a spare one (for
// TLS handshakes, health checks, the admin server and the garbage
// collector) for its whole life. With "adaptive", the default, it has
// those while it uses at least 0.6 of a CPU, and one P once it has used
// less than 0.35 of a CPU for 0.3 s: the loops then take turns on one
// thread, which relays small messages for about a quarter less CPU,
// because a loop that wakes no longer makes the scheduler wake a second
// thread for the idle P (internal/procgov; BENCHMARKS.md, "Adaptive
// GOMAXPROCS"). What it costs: a process that goes from quiet to busy in
// one step (a reconnect storm) runs on one CPU for up to the 100 ms until
// the next sample. A GOMAXPROCS environment variable overrides both and
// fixes the count.
const (
	ProcsAdaptive = "adaptive"
	ProcsAll      = "all"
)

// Package affinity binds a process to CPUs, as nginx's
// worker_cpu_affinity auto does for its workers: worker slot i runs on the
// i-th CPU it may use (wrapping around), so that the threads of its event
// loop, and the kernel work they do for its sockets, stay on one CPU's
// caches instead of following the scheduler from CPU to CPU. With more
// than one P (GOMAXPROCS) a process gets as many CPUs, its own first.
// BENCHMARKS.md, "CPU affinity", has what it saves.
//
// Linux only (sched_setaffinity on every thread of the process); elsewhere
// Bind reports ErrUnsupported.
package affinity

import "errors"

// ErrUnsupported is Bind's error where the OS has no thread affinity we use.
var ErrUnsupported = errors.New("affinity: CPU affinity is not supported on this OS")

// Plan returns the CPUs of worker slot with procs Ps: procs CPUs of
// allowed (at least one, at most all), starting with allowed[slot mod
// len(allowed)] and going on in order, wrapping around. nil if allowed is
// empty.
func Plan(allowed []int, slot, procs int) []int {
	if len(allowed) == 0 {
		return nil
	}
	n := min(max(procs, 1), len(allowed))
	home := slot % len(allowed)
	if home < 0 {
		home += len(allowed)
	}
	cpus := make([]int, n)
	for i := range cpus {
		cpus[i] = allowed[(home+i)%len(allowed)]
	}
	return cpus
}

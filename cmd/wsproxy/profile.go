package main

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
)

// The -profile flags of loadtest and bench, on runtime/pprof alone: the
// same files and log lines as github.com/pkg/profile, which they used
// before. That package brought github.com/google/pprof and fgprof into
// the one wsproxy executable, proxy workers included: 150 KB of
// allocations at init in every process and a larger binary (BENCHMARKS.md,
// issue 13).

// profileModes are the -profile values: the file each writes into the
// profile directory.
var profileModes = map[string]string{
	"cpu": "cpu.pprof", "mem": "mem.pprof", "allocs": "mem.pprof", "block": "block.pprof",
	"mutex": "mutex.pprof", "goroutine": "goroutine.pprof", "trace": "trace.out",
}

// memProfileRate is the sampling rate of mem and allocs (pkg/profile's
// default; its allocs mode left the rate at 0, which recorded nothing).
const memProfileRate = 4096

// startProfiling starts the named profile into dir (created if missing)
// and returns the function that stops it and writes the file. Unless
// quiet, it logs where the profile goes, when it starts and stops.
func startProfiling(mode, dir string, quiet bool) (stop func(), err error) {
	name, ok := profileModes[mode]
	if !ok {
		return nil, fmt.Errorf("unknown profile %q: want cpu, mem, allocs, block, mutex, goroutine or trace", mode)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	fn := filepath.Join(dir, name)
	f, err := os.Create(fn)
	if err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		if !quiet {
			log.Printf(format, args...)
		}
	}
	what := mode + " profiling"
	if mode == "trace" {
		what = "trace"
	}
	var finish func()
	switch mode {
	case "cpu":
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		finish = pprof.StopCPUProfile
	case "trace":
		if err := trace.Start(f); err != nil {
			f.Close()
			return nil, err
		}
		finish = trace.Stop
	case "mem", "allocs":
		what = "memory profiling"
		old := runtime.MemProfileRate
		runtime.MemProfileRate = memProfileRate
		kind := map[string]string{"mem": "heap", "allocs": "allocs"}[mode]
		finish = func() { pprof.Lookup(kind).WriteTo(f, 0); runtime.MemProfileRate = old }
	case "block":
		runtime.SetBlockProfileRate(1)
		finish = func() { pprof.Lookup("block").WriteTo(f, 0); runtime.SetBlockProfileRate(0) }
	case "mutex":
		runtime.SetMutexProfileFraction(1)
		finish = func() { pprof.Lookup("mutex").WriteTo(f, 0); runtime.SetMutexProfileFraction(0) }
	case "goroutine":
		finish = func() { pprof.Lookup("goroutine").WriteTo(f, 0) }
	}
	logf("profile: %s enabled, %s", what, fn)
	done := false
	return func() {
		if done {
			return
		}
		done = true
		finish()
		f.Close()
		logf("profile: %s disabled, %s", what, fn)
	}, nil
}

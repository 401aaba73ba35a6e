package main

import (
	"log/slog"
	"time"

	"wsproxy/config"
	"wsproxy/internal/memrelease"
	"wsproxy/internal/pagetrim"
)

// trimAgain is how long after the first trim the second one comes. The
// first, as soon as the process serves, drops what start-up touched; the
// second drops it too if the first could not (a binary written less than
// the kernel's writeback delay before it started has dirty pages in the
// page cache, and pagetrim leaves a mapping with dirty pages alone), and
// what the first connections touched once (the first handshake's
// set-up). Pages in use come back at once either way, one page fault at a
// time: the second trim waits, past trimAgain, for a check in which the
// process used under 5 % of a CPU (internal/memrelease's Meter), so that it
// never comes in the middle of relaying (BENCHMARKS.md, "A release waits for
// a quiet process"). A process busy for good keeps the pages it runs.
const trimAgain = time.Minute

// trimStartupPages drops the pages of the executable that start-up
// touched from this process's resident set, now and once more trimAgain
// later, unless memory.trim_startup_pages is off (internal/pagetrim;
// BENCHMARKS.md, "Per-process baseline: what a worker keeps resident").
func trimStartupPages(mem config.Memory, log *slog.Logger) {
	if !mem.TrimStartup() {
		return
	}
	trimPages(log)
	time.AfterFunc(trimAgain-memrelease.Check, func() {
		if memrelease.WaitQuiet(memrelease.Check, nil) {
			trimPages(log)
		}
	})
}

// trimAfterBurst is what core runs after it gave the heap's free pages
// back once a burst of new connections was over (core.Options.AfterRelease),
// unless memory.trim_startup_pages is off: the burst's working set of the
// executable (accept, connect, handshakes, the collections it caused) is
// then dropped too. A worker bursting after its second start-up trim kept
// that working set for good: one worker after a ramp of 8,300 connections
// held 5.4 MB of the executable, 2.3 MB once trimmed (BENCHMARKS.md, "The
// executable's pages after a burst").
func trimAfterBurst(mem config.Memory, log *slog.Logger) func() {
	if !mem.TrimStartup() {
		return nil
	}
	return func() { trimPages(log) }
}

func trimPages(log *slog.Logger) {
	start := time.Now()
	r, err := pagetrim.Trim()
	if err != nil {
		log.Warn("cannot trim the start-up pages", "err", err)
		return
	}
	log.Debug("start-up pages trimmed", "mappings", r.Mappings, "resident_kib", r.Resident>>10,
		"skipped", r.Skipped, "took", time.Since(start).Round(time.Microsecond))
}

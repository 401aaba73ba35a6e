package main

import (
	"log/slog"
	"time"

	"wsproxy/config"
	"wsproxy/internal/pagetrim"
)

// trimAgain is how long after the first trim the second one comes. The
// first, as soon as the process serves, drops what start-up touched; the
// second drops it too if the first could not (a binary written less than
// the kernel's writeback delay before it started has dirty pages in the
// page cache, and pagetrim leaves a mapping with dirty pages alone), and
// what the first connections touched once (the first handshake's
// set-up). Pages in use come back at once either way.
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
	time.AfterFunc(trimAgain, func() { trimPages(log) })
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

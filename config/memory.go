package config

// Memory tunes what each proxy process keeps resident.
type Memory struct {
	// TrimStartupPages, once a process serves, drops from its resident
	// set the pages of the wsproxy executable's read-only mappings (its
	// code and read-only data) that start-up touched: package
	// initialization, configuration parsing, the runtime's checks of its
	// own tables; again a minute later, and after each burst of new
	// connections once it is over (when the heap's free pages are given
	// back), what the burst touched: accept, connect, the handshakes and
	// the collections they caused. Pages the serving process uses come
	// back from the page
	// cache on first use (a minor fault each, no I/O). This lowers each
	// process's RSS to its working set: the machine keeps one copy of the
	// file in its page cache either way, so the memory actually used, and
	// PSS, change little (BENCHMARKS.md, "Per-process baseline"). Under
	// memory pressure the kernel may evict a dropped page that no process
	// maps sooner than a mapped one; a rarely run path (a reload, say)
	// then reads it from disk again. Linux only; elsewhere it does
	// nothing. Default (nil): true.
	TrimStartupPages *bool `yaml:"trim_startup_pages"`

	// IdleGC lets the Go runtime collect garbage every two minutes in a
	// process that is idle, as it does by default. Off (the default), a
	// process that accepted nothing, used under 5 % of a CPU and made
	// under 1 MiB of garbage since its last collection in its last 5 s
	// check holds its collector until it allocates: a collection then
	// comes at about the heap size it would have anyway, and ends the hold
	// (internal/gcidle). What that saves is the forced collection's walk
	// of every stack and type, which faults back the executable's pages
	// trim_startup_pages dropped (2.4 MB per idle worker) and stops the
	// world for milliseconds while it does (BENCHMARKS.md, "Idle processes
	// stop collecting"). Read at start: a reload that changes it applies to
	// workers started after it.
	IdleGC bool `yaml:"idle_gc"`
}

// TrimStartup reports whether trim_startup_pages is on, its default
// included.
func (m Memory) TrimStartup() bool {
	return m.TrimStartupPages == nil || *m.TrimStartupPages
}

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
}

// TrimStartup reports whether trim_startup_pages is on, its default
// included.
func (m Memory) TrimStartup() bool {
	return m.TrimStartupPages == nil || *m.TrimStartupPages
}

package core

import "wsproxy/internal/memrelease"

// startMemoryReleaser gives the heap's free pages back after a burst of
// new connections (internal/memrelease says why), unless
// Options.NoReleaseMemory.
func (s *Server) startMemoryReleaser() {
	if s.opts.NoReleaseMemory {
		return
	}
	var r memrelease.Releaser
	go r.Run(memrelease.Check, s.done, s.stats.accepted.Load, func() { s.stats.memReleases.Add(1) })
}

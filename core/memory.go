package core

import (
	"time"

	"wsproxy/internal/memrelease"
)

// releaseEvery and releaseBurst are memrelease's defaults; a test shortens
// them (memory_export_test.go).
var (
	releaseEvery                      = memrelease.Check
	releaseBurst uint64               = memrelease.Burst
	releaseGap                        = memrelease.Gap
	releaseFree  func()               // nil: debug.FreeOSMemory
	releaseCPU   func() time.Duration // nil: the process's CPU time
)

// startMemoryReleaser gives the heap's free pages back after a burst of
// new connections (internal/memrelease says why), unless
// Options.NoReleaseMemory, and then runs Options.AfterRelease; it holds
// Options.IdleGC while the process is quiet.
func (s *Server) startMemoryReleaser() {
	if s.opts.NoReleaseMemory {
		return
	}
	r := memrelease.Releaser{Burst: releaseBurst, Gap: releaseGap, Free: releaseFree, CPU: releaseCPU}
	if h := s.opts.IdleGC; h != nil {
		r.Idle = func(quiet bool) { h.Check(quiet) }
	}
	every := releaseEvery // read here: a test changes it between servers
	go func() {
		r.Run(every, s.done, s.stats.accepted.Load, func() {
			s.stats.memReleases.Add(1)
			if s.opts.AfterRelease != nil {
				s.opts.AfterRelease()
			}
		})
		if s.opts.IdleGC != nil {
			s.opts.IdleGC.Off()
		}
	}()
}

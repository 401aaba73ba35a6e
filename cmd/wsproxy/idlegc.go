package main

import (
	"log/slog"
	"sync"

	"wsproxy/config"
	"wsproxy/internal/gcidle"
	"wsproxy/internal/memrelease"
)

// idleHold is the collector hold of this process (internal/gcidle), or nil
// when memory.idle_gc lets the runtime collect in idle processes. Its
// beginnings and ends are logged at debug level.
func idleHold(mem config.Memory, log *slog.Logger) *gcidle.Hold {
	if mem.IdleGC {
		return nil
	}
	return &gcidle.Hold{
		Held: func() { log.Debug("idle: collector held") },
		Left: func(collected bool) { log.Debug("idle: collector hold ended", "by_collection", collected) },
	}
}

var masterHold sync.Once

// holdMasterWhileQuiet holds the master's collector while it is quiet, as
// core does for a worker: a master relays nothing, so it is quiet but for
// reloads, admin requests and its workers' comings and goings. It checks
// every memrelease.Check for the life of the process; only the first call
// starts it.
func holdMasterWhileQuiet(mem config.Memory, log *slog.Logger) {
	masterHold.Do(func() {
		if h := idleHold(mem, log); h != nil {
			go memrelease.Watch(memrelease.Check, nil, func(quiet bool) bool {
				h.Check(quiet)
				return true
			})
		}
	})
}

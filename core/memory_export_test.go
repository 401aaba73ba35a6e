package core

import "time"

// ShortenMemoryRelease makes the memory releaser of Servers started after
// it look every every, count burst connections as a burst, release at any
// gap, and call free instead of debug.FreeOSMemory, and see the process
// as idle (the test binary's own CPU use says nothing of the Server's); the
// returned function restores the defaults.
func ShortenMemoryRelease(every time.Duration, burst uint64, free func()) (restore func()) {
	e, b, g, f, c := releaseEvery, releaseBurst, releaseGap, releaseFree, releaseCPU
	releaseEvery, releaseBurst, releaseGap, releaseFree = every, burst, time.Nanosecond, free
	releaseCPU = func() time.Duration { return 0 }
	return func() { releaseEvery, releaseBurst, releaseGap, releaseFree, releaseCPU = e, b, g, f, c }
}

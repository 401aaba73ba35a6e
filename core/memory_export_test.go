package core

import "time"

// ShortenMemoryRelease makes the memory releaser of Servers started after
// it look every every, count burst connections as a burst, release at any
// gap, and call free instead of debug.FreeOSMemory; the returned function
// restores the defaults.
func ShortenMemoryRelease(every time.Duration, burst uint64, free func()) (restore func()) {
	e, b, g, f := releaseEvery, releaseBurst, releaseGap, releaseFree
	releaseEvery, releaseBurst, releaseGap, releaseFree = every, burst, time.Nanosecond, free
	return func() { releaseEvery, releaseBurst, releaseGap, releaseFree = e, b, g, f }
}

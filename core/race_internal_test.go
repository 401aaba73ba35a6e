//go:build race

package core

// raceEnabled: the tests run under the race detector (sync.Pool drops
// buffers at random then, so allocation counts are not exact).
const raceEnabled = true

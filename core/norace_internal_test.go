//go:build !race

package core

// raceEnabled: the tests run under the race detector (race_internal_test.go).
const raceEnabled = false

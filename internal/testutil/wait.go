// Package testutil holds the helpers the tests of several packages share:
// polling with a hang guard, loggers that write through t.Log, a buffer
// safe for concurrent use, child processes that report the address they
// bound, and loopback addresses whose connects are refused.
//
// It imports nothing of wsproxy, so that any package's tests, internal or
// external, may use it. Nothing here sleeps to synchronise: a wait polls a
// condition or blocks on an event, and its deadline only turns a hang into
// a failure.
package testutil

import (
	"fmt"
	"testing"
	"time"
)

// Deadline bounds every wait of these helpers. It is a hang guard, not a
// measurement: a loaded 2-core machine under -race must never reach it.
const Deadline = time.Minute

// pollEvery is how often a condition that no event announces is checked.
const pollEvery = 10 * time.Millisecond

// Eventually calls f until it returns nil, and fails t with what and f's
// last error if that has not happened within Deadline. It is for state no
// event announces: a counter on a proxy's loops, a line in a log, the
// processes of a group.
func Eventually(t testing.TB, what string, f func() error) {
	t.Helper()
	eventually(t, what, f, Deadline)
}

func eventually(t testing.TB, what string, f func() error, limit time.Duration) {
	t.Helper()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		err := f()
		if err == nil {
			return
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			t.Fatalf("%s: after %v: %v", what, limit, err)
			return
		}
	}
}

// WaitFor polls cond until it holds, and fails t with what if that has not
// happened within Deadline.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	Eventually(t, what, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	})
}

var errNotYet = fmt.Errorf("not true")

package main

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
)

// TestStopHint: the line saying how to stop at once reaches a terminal
// when the log level hides it, and only then (at info it is in the log
// already; a pipe or file gets only what the log level lets through).
func TestStopHint(t *testing.T) {
	const msg = "stopping: open connections get up to 30s to finish"
	for _, tc := range []struct {
		name  string
		level slog.Level
		tty   bool
		want  string
	}{
		{"warn, terminal", slog.LevelWarn, true, "wsproxy: " + msg + "\n"},
		{"error, terminal", slog.LevelError, true, "wsproxy: " + msg + "\n"},
		{"info, terminal", slog.LevelInfo, true, ""},
		{"warn, not a terminal", slog.LevelWarn, false, ""},
	} {
		var b bytes.Buffer
		log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: tc.level}))
		stopHint(&b, tc.tty, log, msg)
		if b.String() != tc.want {
			t.Errorf("%s: wrote %q, want %q", tc.name, b.String(), tc.want)
		}
	}
}

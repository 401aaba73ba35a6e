package testutil

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// Logger returns a text logger, debug level included, whose lines go to
// t.Log: go test shows them for a failed test (or with -v) under the test
// that wrote them.
func Logger(t testing.TB) *slog.Logger {
	return LoggerLevel(t, slog.LevelDebug)
}

// LoggerLevel is Logger writing only the lines of level and above.
func LoggerLevel(t testing.TB, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewTextHandler(LogWriter(t), &slog.HandlerOptions{Level: level}))
}

// LogWriter returns a writer that logs each write through t.Log, without
// its trailing newline.
func LogWriter(t testing.TB) io.Writer { return logWriter{t} }

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

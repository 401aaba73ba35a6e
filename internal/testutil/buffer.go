package testutil

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer safe for concurrent use: a process's output or
// a logger's lines, written by other goroutines while the test reads them.
// The zero value is an empty buffer ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns a copy of what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// WaitMatch waits until what has been written matches re and returns the
// submatches of the first match.
func (b *Buffer) WaitMatch(t testing.TB, re string) []string {
	t.Helper()
	return b.WaitMatchFunc(t, re, func([]string) bool { return true })
}

// WaitMatchFunc waits until a match of re in what has been written
// satisfies ok, and returns the submatches of the first that does.
func (b *Buffer) WaitMatchFunc(t testing.TB, re string, ok func(m []string) bool) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	var found []string
	Eventually(t, "output matching "+re, func() error {
		for _, m := range rx.FindAllStringSubmatch(b.String(), -1) {
			if ok(m) {
				found = m
				return nil
			}
		}
		return fmt.Errorf("none in:\n%s", b.String())
	})
	return found
}

// JSONLines decodes the lines written so far, one JSON object a line (as
// slog.NewJSONHandler writes them), and fails t on a line that is not one.
func (b *Buffer) JSONLines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

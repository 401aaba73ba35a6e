package config_test

import (
	"strings"
	"testing"

	"wsproxy/config"
)

// TestMemoryTrimStartupPages: trim_startup_pages is on unless the file
// says false, idle_gc off unless it says true; a misspelt key under memory
// or a value of the wrong type is an error naming the line.
func TestMemoryTrimStartupPages(t *testing.T) {
	const base = "listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: \"127.0.0.1:1\"}]\n"
	for _, tc := range []struct {
		extra string
		want  bool
	}{
		{"", true},
		{"memory: {}\n", true},
		{"memory: {trim_startup_pages: true}\n", true},
		{"memory: {trim_startup_pages: false}\n", false},
	} {
		c, err := config.Parse("x.yaml", []byte(base+tc.extra))
		if err != nil {
			t.Fatalf("%q: %v", tc.extra, err)
		}
		if got := c.Memory.TrimStartup(); got != tc.want {
			t.Errorf("%q: TrimStartup() = %v, want %v", tc.extra, got, tc.want)
		}
	}
	if q := config.Quick("127.0.0.1:0", "127.0.0.1:1"); !q.Memory.TrimStartup() {
		t.Error("Quick: trim_startup_pages off, want the default (on)")
	}
	for extra, want := range map[string]bool{"": false, "memory: {idle_gc: false}\n": false, "memory: {idle_gc: true}\n": true} {
		c, err := config.Parse("x.yaml", []byte(base+extra))
		if err != nil {
			t.Fatalf("%q: %v", extra, err)
		}
		if c.Memory.IdleGC != want {
			t.Errorf("%q: IdleGC = %v, want %v", extra, c.Memory.IdleGC, want)
		}
	}
	_, err := config.Parse("x.yaml", []byte(base+"memory: {idle_gc: 1s}\n"))
	if err == nil || !strings.Contains(err.Error(), "x.yaml:3") || !strings.Contains(err.Error(), "idle_gc") {
		t.Errorf("idle_gc not a bool: err = %v, want one naming x.yaml:3 and idle_gc", err)
	}
	_, err = config.Parse("x.yaml", []byte(base+"memory: {trim_startup_page: false}\n"))
	if err == nil || !strings.Contains(err.Error(), "memory.trim_startup_page") {
		t.Errorf("misspelt key: err = %v, want one naming memory.trim_startup_page", err)
	}
}

package config_test

import (
	"strings"
	"testing"

	"wsproxy/config"
)

// TestMemoryTrimStartupPages: trim_startup_pages is on unless the file
// says false; a misspelt key under memory is an error.
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
	_, err := config.Parse("x.yaml", []byte(base+"memory: {trim_startup_page: false}\n"))
	if err == nil || !strings.Contains(err.Error(), "memory.trim_startup_page") {
		t.Errorf("misspelt key: err = %v, want one naming memory.trim_startup_page", err)
	}
}

package wsproxy

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering keeps the import directions of DEVELOPERS.md honest: lower
// layers never import upper ones.
func TestLayering(t *testing.T) {
	forbidden := map[string][]string{
		"poller":           {"codec", "balance", "core", "loadtest", "bench", "cmd", "internal/config"},
		"codec":            {"poller", "balance", "core", "loadtest", "bench", "cmd", "internal/sock"},
		"balance":          {"poller", "codec", "core", "loadtest", "bench", "cmd", "internal/sock"},
		"internal/sock":    {"poller", "codec", "balance", "core"},
		"loadtest":         {"core", "balance", "bench", "cmd"},
		"core":             {"bench", "loadtest", "cmd", "internal/master", "internal/admin"},
		"internal/master":  {"core", "bench", "loadtest", "cmd"},
		"internal/config":  {"core", "poller", "codec", "balance", "bench", "loadtest", "cmd"},
		"bench":            {"core", "cmd"},
		"internal/reactor": {"codec", "balance", "core", "internal/config", "loadtest", "bench", "cmd"},
		"internal/echo":    {"core", "balance", "internal/config", "loadtest", "bench", "cmd"},
		"internal/tlstrim": {"core", "poller", "codec", "balance", "internal/reactor"},
	}
	for pkg, bad := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "./"+pkg+"/...").CombinedOutput()
			if err != nil {
				if strings.Contains(string(out), "matched no packages") {
					t.Skipf("%s does not exist yet", pkg)
				}
				t.Fatalf("go list %s: %v\n%s", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				for _, b := range bad {
					if dep == "wsproxy/"+b || strings.HasPrefix(dep, "wsproxy/"+b+"/") {
						t.Errorf("%s imports %s; want no import of %s", pkg, dep, b)
					}
				}
			}
		})
	}
}

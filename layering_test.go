package wsproxy

import (
	"cmp"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// anything, in a row of TestLayering, forbids every package of the module.
const anything = ""

// TestLayering keeps the import directions of DEVELOPERS.md honest: lower
// layers never import upper ones. A row names a package (with the packages
// below its directory) and what it must not import (each with the packages
// below it); a package may import its own subpackages, and allowed lists
// the exceptions to a row. Every package of the module has a row, so that
// a new one comes with its place in the layers. Test files are not
// checked: a test may import a higher layer to drive the code it tests.
func TestLayering(t *testing.T) {
	forbidden := map[string][]string{
		".":                  {anything}, // the repository's own tests (layering, links, go.mod) only
		"cmd/wsproxy":        {"e2e", "interop"},
		"core/metrics":       {anything}, // the counters: core counts in them, admin reads their snapshot
		"internal/admin":     {"core", "internal/master", "poller", "codec", "balance", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/asynclog":  {anything},
		"internal/control":   {anything},
		"internal/upstreams": {"core", "poller", "codec", "internal/reactor", "internal/sock", "internal/master", "internal/admin", "bench", "loadtest", "cmd"},
		"internal/reload":    {"core", "poller", "codec", "balance", "internal/reactor", "internal/sock", "internal/master", "internal/admin", "bench", "loadtest", "cmd"},
		"internal/sidshm":    {"core", "poller", "codec", "internal/reactor", "internal/master", "internal/admin", "bench", "loadtest", "cmd"},
		"internal/testcert":  {anything},
		"internal/testutil":  {anything}, // imported by tests only (the subtest "test-only packages")
		"internal/timer":     {anything},
		"examples":           {anything},
		"e2e":                {"cmd"}, // test suites: their tests drive core and the wsproxy binary
		"interop":            {"cmd"},

		// floor.c's test: a C program, an echo backend, a client.
		"contrib/floor/floortest": {"core", "poller", "codec", "balance", "bench", "loadtest", "cmd"},
		"contrib/floor/pingpong":  {"core", "codec", "balance", "internal/reactor", "bench", "loadtest", "cmd"},           // a loop of its own on poller
		"contrib/floor/ringbatch": {"core", "poller", "codec", "balance", "internal/reactor", "bench", "loadtest", "cmd"}, // internal/sock's io_uring alone

		"poller":              {"codec", "balance", "core", "loadtest", "bench", "cmd", "config"},
		"codec":               {"poller", "balance", "core", "loadtest", "bench", "cmd", "internal/sock"},
		"balance":             {"poller", "codec", "core", "loadtest", "bench", "cmd", "internal/sock"},
		"internal/sock":       {"poller", "codec", "balance", "core"},
		"loadtest":            {"core", "balance", "bench", "cmd"},
		"core":                {"bench", "loadtest", "cmd", "internal/master", "internal/admin"},
		"internal/master":     {"core", "bench", "loadtest", "cmd"},
		"config":              {"core", "poller", "codec", "balance", "bench", "loadtest", "cmd"},
		"bench":               {"core", "cmd"},
		"internal/reactor":    {"codec", "balance", "core", "config", "loadtest", "bench", "cmd"},
		"internal/echo":       {"core", "balance", "config", "loadtest", "bench", "cmd"},
		"internal/tlstrim":    {"core", "poller", "codec", "balance", "internal/reactor"},
		"internal/tlsloop":    {"core", "balance", "config", "loadtest", "bench", "cmd"},
		"internal/memrelease": {anything},
		"internal/pagetrim":   {anything},
		"internal/procgov":    {anything},
		"internal/gcroom":     {anything},
		"internal/gcidle":     {anything},
		"internal/health":     {anything},
		"internal/limit":      {anything},
		"internal/certs":      {anything},
		"internal/fastrsa":    {anything},
		"internal/affinity":   {anything},
		"internal/tickets":    {anything},
		"internal/routing":    {"core", "poller", "balance", "config", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/realip":     {"core", "poller", "balance", "config", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/handover":   {anything}, // descriptors and bytes: core fills its State
		"internal/wsseq":      {anything}, // a test client: it talks to a proxy over TCP only

		// Pure parts of the proxy, below core: no connection, no loop.
		"internal/forward":   {"core", "poller", "balance", "config", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/answer":    {"core", "poller", "balance", "config", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/wspolicy":  {"core", "poller", "codec", "balance", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/closerule": {"core", "poller", "balance", "config", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/tlsconf":   {"core", "poller", "codec", "balance", "internal/reactor", "internal/sock", "internal/tlsloop", "bench", "loadtest", "cmd"},

		// Upstreams from DNS (servers_from) and the DNS server of their tests.
		"internal/dnsup":         {"core", "poller", "codec", "balance", "internal/reactor", "internal/sock", "bench", "loadtest", "cmd"},
		"internal/dnsup/dnstest": {anything},
	}
	// allowed are the exceptions to the rows: core/metrics is the counters
	// and their snapshot, which admin reads without importing core, and
	// the label names closerule's rules take; certs signs with fastrsa.
	allowed := map[string][]string{
		"internal/admin":     {"core/metrics"},
		"internal/closerule": {"core/metrics"},     // the reason labels
		"internal/certs":     {"internal/fastrsa"}, // its RSA signer
	}
	// testOnly are for tests: they take a testing.TB and fail the test
	// instead of returning errors, and no package's own code may import
	// them.
	testOnly := []string{"internal/testutil", "internal/testcert"}
	t.Run("test-only packages", func(t *testing.T) {
		out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list ./...: %v\n%s", err, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			for _, only := range testOnly {
				if within(f[0], only) {
					continue
				}
				for _, dep := range f[1:] {
					if within(dep, only) {
						t.Errorf("%s imports %s; want it imported by tests only", f[0], dep)
					}
				}
			}
		}
	})
	t.Run("every package has a row", func(t *testing.T) {
		out, err := exec.Command("go", "list", "./...").CombinedOutput()
		if err != nil {
			t.Fatalf("go list ./...: %v\n%s", err, out)
		}
		for _, path := range strings.Fields(string(out)) {
			pkg := cmp.Or(strings.TrimPrefix(strings.TrimPrefix(path, "wsproxy"), "/"), ".")
			if _, ok := forbidden[pkg]; !ok {
				t.Errorf("package %s has no row in TestLayering; want one saying what it must not import", path)
			}
		}
	})
	for pkg, bad := range forbidden {
		t.Run(pkg, func(t *testing.T) {
			pattern := "./" + pkg + "/..."
			if pkg == "." {
				pattern = "."
			}
			out, err := exec.Command("go", "list", "-deps", pattern).CombinedOutput()
			if err != nil {
				if strings.Contains(string(out), "matched no packages") {
					t.Skipf("%s does not exist yet", pkg)
				}
				t.Fatalf("go list %s: %v\n%s", pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				if dep == "wsproxy" && pkg == "." || pkg != "." && within(dep, pkg) ||
					slices.ContainsFunc(allowed[pkg], func(a string) bool { return within(dep, a) }) {
					continue // its own packages, or an exception
				}
				for _, b := range bad {
					if within(dep, b) {
						t.Errorf("%s imports %s; want no import of %s", pkg, dep, cmp.Or(b, "wsproxy"))
					}
				}
			}
		})
	}
}

// within reports whether the import path dep is the module's package rel or
// below it; rel anything is the whole module.
func within(dep, rel string) bool {
	p := strings.TrimSuffix("wsproxy/"+rel, "/")
	return dep == p || strings.HasPrefix(dep, p+"/")
}

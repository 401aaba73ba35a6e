package wsproxy

import (
	"os/exec"
	"testing"
)

// TestModTidy: go.mod and go.sum are what go mod tidy makes of them, so
// that no build or test edits them: under .ci/run's former -mod=mod, a test
// importing a module go.mod marked indirect (coder/websocket) rewrote
// go.mod on every run. It reads the module cache and, for what is missing
// there, the module proxy.
func TestModTidy(t *testing.T) {
	out, err := exec.Command("go", "mod", "tidy", "-diff").CombinedOutput()
	if err != nil {
		t.Errorf("go mod tidy -diff: %v; want no difference (run go mod tidy and commit):\n%s", err, out)
	}
}

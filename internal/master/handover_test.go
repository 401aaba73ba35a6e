package master_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"wsproxy/internal/testutil"

	"wsproxy/internal/handover"
	"wsproxy/internal/master"
)

// fakeTunnels is how many tunnels a fake worker hands over.
const fakeTunnels = 3

// fakeProxy is a fake worker's proxy: it hands over fakeTunnels tunnels
// made of socket pairs, once, and takes (and closes) what it is given.
type fakeProxy struct {
	mu sync.Mutex
	ts []handover.Tunnel
}

func newFakeProxy() *fakeProxy {
	p := &fakeProxy{}
	for range fakeTunnels {
		fds, err := testutil.StreamPair(false)
		if err != nil {
			panic(err)
		}
		p.ts = append(p.ts, handover.Tunnel{State: handover.State{Route: "/"}, ClientFD: fds[0], UpstreamFD: fds[1]})
	}
	return p
}

func (p *fakeProxy) ExportTunnels(max int) ([]handover.Tunnel, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := min(max, len(p.ts))
	out := p.ts[:n:n]
	p.ts = p.ts[n:]
	return out, len(p.ts)
}

func (p *fakeProxy) ImportTunnels(ts []handover.Tunnel) int {
	for i := range ts {
		ts[i].Close()
	}
	return len(ts)
}

func (p *fakeProxy) StopAccepting() {}

// TestMasterHandover: once a new generation is ready, each old worker is
// asked to hand its tunnels to a new one; the master logs what each
// handed over, counts it, and only then tells the old generation to
// drain. A new generation that fails before it is ready is handed
// nothing. One that does not answer (a build without the hand-over)
// delays the drain by the hand-over timeout, no more.
func TestMasterHandover(t *testing.T) {
	counts := &master.HandoverCounts{}
	fm := startMaster(t, 2, "ok", 0, func(c *master.Config) {
		c.Handover = counts
		c.HandoverTimeout = 2 * time.Second
	})
	fm.log.WaitMatch(t, `msg="generation serving" generation=1`)

	fm.set("ok", nil)
	fm.sigs <- syscall.SIGHUP
	for _, w := range []string{"1.0", "1.1"} {
		fm.log.WaitMatch(t, `msg="tunnels handed over" worker=`+w+` to=2\.[01] handed_over=3 kept=0 refused=0 waiting=0`)
	}
	fm.log.WaitMatch(t, `msg="previous generation draining" generation=1`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=1`)
	if got := counts.Sent.Load(); got != 2*fakeTunnels {
		t.Errorf("tunnels handed over: got %d; want %d", got, 2*fakeTunnels)
	}

	// A generation that fails before it is ready takes nothing: the
	// serving one keeps every tunnel.
	fm.set("fail", nil)
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="reload abandoned; the previous generation keeps serving" generation=3 serving=2`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=3`)
	if strings.Contains(fm.log.String(), `msg="previous generation handing its tunnels over" generation=2`) {
		t.Fatalf("a generation that never got ready was handed tunnels:\n%s", fm.log)
	}

	fm.set("deaf", nil)
	fm.sigs <- syscall.SIGHUP
	for _, w := range []string{"2.0", "2.1"} {
		fm.log.WaitMatch(t, `msg="hand-over failed; the old worker drains what it has" worker=`+w+` to=4\.[01] .* err="new worker: .*context deadline exceeded"`)
	}
	fm.log.WaitMatch(t, `msg="generation finished" generation=2`)
}

// TestMasterSeesNewBinary: a reload that workers could apply in place
// starts a new generation all the same when the binary at the master's
// path is not the one the serving generation runs (an upgrade: the old
// workers hand their tunnels over), and only then.
func TestMasterSeesNewBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "wsproxy")
	copyFile(t, self, path)
	fm := startMaster(t, 1, "ok", 0, func(c *master.Config) { c.Path = path })
	fm.log.WaitMatch(t, `msg="generation serving" generation=1`)

	fm.setInPlace("ok") // the same binary and what workers change in place: no new generation
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="configuration applied in place"`)
	if strings.Contains(fm.log.String(), "binary") {
		t.Fatalf("a reload with the same binary says it changed:\n%s", fm.log)
	}
	copyFile(t, self, path+".new")
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="reload needs a new generation" changed=binary`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=1`)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

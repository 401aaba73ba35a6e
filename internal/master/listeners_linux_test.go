package master_test

import (
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"wsproxy/internal/master"
)

// listening returns the inodes of the sockets listening on addr, from
// /proc/net/tcp: every one in the network namespace, whoever holds it.
func listening(t *testing.T, addr string) []string {
	t.Helper()
	ap := netip.MustParseAddrPort(addr)
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	local := strings.ToUpper(strconv.FormatUint(uint64(ap.Port()), 16))
	for len(local) < 4 {
		local = "0" + local
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st ... inode (the tenth field)
		if len(f) < 10 || f[3] != "0A" || !strings.HasSuffix(f[1], ":"+local) {
			continue
		}
		out = append(out, f[9])
	}
	slices.Sort(out)
	return out
}

// TestListeningSocketsPerLoop: the master holds one socket per loop of
// every worker (the kernel spreads connections over them); a generation
// with more loops adds sockets and keeps the others; a worker restarted
// after a crash gets new ones in place of those it had, which the master
// closed when it died, and the other workers keep theirs.
func TestListeningSocketsPerLoop(t *testing.T) {
	fm := startMaster(t, 3, "ok", 0)
	fm.log.WaitMatch(t, `msg="generation serving" generation=1 workers=3`)
	addr := fm.firstAddr()
	first := listening(t, addr)
	if len(first) != 3 { // loops 0: one each
		t.Fatalf("%d sockets listening on %s; want 3", len(first), addr)
	}
	fm.set("ok", nil) // loops 1
	fm.set("ok", nil) // loops 2: 6 sockets
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="generation serving" generation=2 workers=3`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=1`)
	before := listening(t, addr)
	if len(before) != 6 || len(common(first, before)) != 3 {
		t.Fatalf("sockets listening: %v after the reload, %v before; want 6, the 3 of before among them", before, first)
	}

	pid := fm.log.WaitMatch(t, `msg="worker ready" worker=2\.1 pid=(\d+)`)[1]
	n, _ := strconv.Atoi(pid)
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fm.log.WaitMatchFunc(t, `msg="worker ready" worker=2\.1 pid=(\d+)`, func(m []string) bool { return m[1] != pid })
	after := listening(t, addr)
	if len(after) != 6 || len(common(before, after)) != 4 {
		t.Errorf("sockets listening: %v after worker 2.1 was restarted, %v before; want 6, 4 of them the same (2.1 had 2)", after, before)
	}
}

// common returns the elements of sorted a that sorted b holds too.
func common(a, b []string) []string {
	var out []string
	for _, s := range a {
		if _, ok := slices.BinarySearch(b, s); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestListeningSocketsLoopsFlag: with Config.Loops (the -loops flag, which
// the workers get too) the master opens that many sockets per worker,
// whatever the configuration says.
func TestListeningSocketsLoopsFlag(t *testing.T) {
	fm := startMaster(t, 2, "ok", 0, func(c *master.Config) { c.Loops = 3 })
	fm.log.WaitMatch(t, `msg="generation serving" generation=1 workers=2`)
	addr := fm.firstAddr()
	if got := listening(t, addr); len(got) != 6 {
		t.Errorf("%d sockets listening on %s; want 6 (2 workers x 3 loops)", len(got), addr)
	}
}

// TestListeningSocketsSuperseded: a reload that supersedes a generation
// still starting closes the sockets only that one had opened; the
// generation that serves in the end holds one per loop of its workers.
func TestListeningSocketsSuperseded(t *testing.T) {
	fm := startMaster(t, 2, "ok", 0)
	fm.log.WaitMatch(t, `msg="generation serving" generation=1 workers=2`)
	addr := fm.firstAddr()
	fm.set("slow", nil) // loops 1
	fm.set("slow", nil) // loops 2: 4 sockets, 2 of them new
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="worker started" worker=2\.1 `)
	fm.mu.Lock()
	fm.name, fm.loops = "ok", 0 // one loop each again
	fm.mu.Unlock()
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="generation serving" generation=3 workers=2`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=2`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=1`)
	if got := listening(t, addr); len(got) != 2 {
		t.Errorf("%d sockets listening on %s; want 2 (2 workers x 1 loop)", len(got), addr)
	}
}

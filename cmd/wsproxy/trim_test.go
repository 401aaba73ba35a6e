package main

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"wsproxy/internal/wsseq"
)

// TestTrimmedWorkerServes: a process that trimmed its start-up pages
// (memory.trim_startup_pages, on by default) relays WebSocket messages:
// the code and tables it needs fault back in from the page cache.
func TestTrimmedWorkerServes(t *testing.T) {
	// The test binary was just written: until the kernel writes its pages
	// back they are dirty, and pagetrim leaves dirty mappings alone.
	// Writing them back now makes the trim below happen.
	f, err := os.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	backend := startEcho(t)
	p := startProc(t, "run", "-listen", "127.0.0.1:0", "-upstream", backend, "-log-level", "debug", "-loops", "1")
	addr := p.WaitLog(t, listeningLine)[1]
	m := p.WaitLog(t, `msg="start-up pages trimmed" mappings=(\d+) resident_kib=\d+ skipped=(\d+)`)
	trimmed, _ := strconv.Atoi(m[1])
	switch {
	case runtime.GOOS != "linux":
	case onTmpfs(t, binary):
		// A tmpfs file's pages are always dirty: nothing is trimmed.
		t.Logf("the test binary is on tmpfs: %s", m[0])
	case trimmed == 0:
		t.Fatalf("nothing trimmed: %s", m[0])
	}

	cl, err := wsseq.Dial(addr, "/", 1, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := cl.Send(3); err != nil {
		t.Fatal(err)
	}
	if err := cl.Wait(3, time.Minute); err != nil {
		t.Fatal(err)
	}
}

// onTmpfs reports whether path is on a tmpfs file system.
func onTmpfs(t *testing.T, path string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	const tmpfsMagic = 0x01021994
	return st.Type == tmpfsMagic
}

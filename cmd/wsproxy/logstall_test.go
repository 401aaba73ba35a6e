//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsproxy/internal/testutil"
)

// TestStalledStderr: a proxy whose stderr nobody reads (a stuck log
// collector) keeps answering. Every request here is answered 502 or 503
// and logged; far more lines than a pipe and the log buffer hold are written,
// and each request is still answered. The dropped lines are reported once
// stderr is read again.
func TestStalledStderr(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	refused := testutil.RefusedAddr(t) // 502, then 503 while it is marked down
	file := filepath.Join(t.TempDir(), "addrs")
	cmd := exec.Command(binary, "run", "-listen", "127.0.0.1:0", "-upstream", refused, "-loops", "1", "-log-level", "info", "-addr-file", file)
	cmd.Stdout, cmd.Stderr = io.Discard, w
	p := &proc{testutil.Start(t, "wsproxy run", cmd)}
	w.Close()
	listen := waitAddrFile(t, p, file)["listen"][0]

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	// A 502 line is about 200 bytes: 4,000 of them are 800 KB, past the
	// pipe (64 KiB) and the log buffer (256 KiB) together.
	const n = 4000
	for i := range n {
		resp, err := client.Get(fmt.Sprintf("http://%s/req/%d", listen, i))
		if err != nil {
			t.Fatalf("request %d of %d with stderr unread: %v (the loop waits for its log?)", i, n, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("request %d: status %d; want 502 (or 503 while the refusing server is marked down)", i, resp.StatusCode)
		}
	}

	// Reading stderr again: the buffered lines come, then the report of
	// those dropped meanwhile.
	dropped := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "asynclog: ") {
				dropped <- sc.Text()
				return
			}
		}
		close(dropped)
	}()
	// One more line after the reader started, so that the writer has
	// something to write after the stall and the report follows it.
	if resp, err := client.Get("http://" + listen + "/after"); err == nil {
		resp.Body.Close()
	}
	select {
	case l, ok := <-dropped:
		if !ok || !strings.Contains(l, "log lines dropped") {
			t.Fatalf("stderr ended without a report of dropped lines (%q)", l)
		}
		t.Log(l)
	case <-time.After(testutil.Deadline):
		t.Fatal("no report of dropped log lines on stderr")
	}
}

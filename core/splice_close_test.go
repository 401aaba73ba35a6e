package core_test

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"testing"

	"wsproxy/core"
	"wsproxy/internal/testutil"
)

// TestSpliceCloseMidPayload: a tunnel closed while spliced bytes wait in
// its pipe closes that pipe (its bytes cannot be taken back); no
// descriptor is left behind, by the connection or by the loop's pool once
// the proxy stops.
func TestSpliceCloseMidPayload(t *testing.T) {
	if !core.SpliceSupported {
		t.Skip("no splice on this platform")
	}
	before := openFDTable(t)
	t.Run("session", func(t *testing.T) {
		release := make(chan struct{})
		backend := rawBackend(t, func(c net.Conn) {
			if _, err := acceptWebSocket(c, bufio.NewReader(c), ""); err != nil {
				return
			}
			<-release // read nothing; returning closes c with bytes unread: a reset
		})
		var once sync.Once
		stall := func() { once.Do(func() { close(release) }) }
		t.Cleanup(stall) // before rawBackend's cleanup waits for serve
		srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
routes:
  - {path: /, upstream: %q}
`, backend))
		c, _ := rawWebSocket(t, addr, "/")
		writeAll(t, c, string(hugeFrameHeader(true)))
		go func() {
			buf := make([]byte, 64<<10)
			for {
				if _, err := c.Write(buf); err != nil {
					return // the proxy or the test closed the connection
				}
			}
		}()
		testutil.WaitFor(t, "a pipe held for the stalled upstream", func() bool {
			_, held, _ := core.SpliceStats(srv)
			return held > 0
		})
		_, _, open := core.SpliceStats(srv)
		if got := opened(t, before, true); got != 2*open {
			t.Errorf("pipe descriptors while spliced bytes wait: got %d; want %d (2 per open pipe)", got, 2*open)
		}

		stall()
		c.Close()
		testutil.WaitFor(t, "the connection's pipe given back", func() bool {
			_, held, _ := core.SpliceStats(srv)
			return held == 0
		})
		_, _, open = core.SpliceStats(srv)
		if got := opened(t, before, true); got != 2*open {
			t.Errorf("pipe descriptors after the close: got %d; want %d (2 per open pipe): a pipe leaked", got, 2*open)
		}
	})
	if got := opened(t, before, true); got != 0 {
		t.Errorf("pipe descriptors left after the proxy stopped: %d; want 0", got)
	}
	if got := opened(t, before, false); got != 0 {
		t.Errorf("descriptors left after the proxy stopped: %d; want 0", got)
	}
}

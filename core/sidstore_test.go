package core_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wsproxy/balance"
	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/sidshm"
	"wsproxy/internal/testutil"
)

// TestOptionsSidStore runs two proxies in one process, as two workers,
// whose sid upstreams share a table through Options.SidStore: a session
// learnt by one routes through the other. Only sid upstreams get a store.
func TestOptionsSidStore(t *testing.T) {
	var lines []string
	for i := 1; i <= 3; i++ {
		lines = append(lines, fmt.Sprintf("      - addr: %q", engineIOBackend(t, fmt.Sprintf("b%d", i), false)))
	}
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
upstreams:
  eio:
    balance: sid
    fallback: round_robin
    servers:
%s
  plain:
    servers: [{addr: "127.0.0.1:1"}]
routes:
  - {path: /engine.io/, upstream: eio}
  - {path: /plain/, upstream: plain}
`, strings.Join(lines, "\n"))))
	if err != nil {
		t.Fatal(err)
	}
	f, err := sidshm.Create(1 << 10)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	var asked []string
	var addrs []string
	for range 2 {
		tab, err := sidshm.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := core.New(cfg, core.Options{Logger: testutil.Logger(t), SidStore: func(up string) balance.SidStore {
			mu.Lock()
			asked = append(asked, up)
			mu.Unlock()
			return tab.Store(up, time.Minute)
		}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close(); tab.Close() })
		addrs = append(addrs, srv.Addrs()[0].String())
	}
	if fmt.Sprint(asked) != "[eio eio]" {
		t.Errorf("SidStore asked for %v; want [eio eio], one per proxy", asked)
	}
	c := clientFrom("127.0.0.1")
	get := func(addr, query string) (int, string, string) {
		resp, err := c.Get("http://" + addr + "/engine.io/?EIO=4&transport=polling" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("X-Echo-Id"), string(b)
	}
	for i := range 6 {
		code, id, body := get(addrs[i%2], "")
		sid, ok := strings.CutPrefix(body, `0{"sid":"`)
		if code != http.StatusOK || !ok {
			t.Fatalf("handshake %d: %d %q", i, code, body)
		}
		sid, _, _ = strings.Cut(sid, `"`)
		for j := range 3 {
			if code, got, body := get(addrs[(i+1)%2], "&sid="+sid); code != http.StatusOK || got != id {
				t.Fatalf("poll %d for %s through the other proxy: %d from %s (%s); want 200 from %s", j, sid, code, got, body, id)
			}
		}
	}
}

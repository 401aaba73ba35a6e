package loadtest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wsproxy/loadtest"
)

// TestWSS: a wss:// run through the TLS bridge holds its connections and
// echoes with verified payloads; a refused handshake (an untrusted
// certificate without Insecure) counts as failures, not as a hang.
func TestWSS(t *testing.T) {
	s := &echoServer{}
	s.peers, s.cookies = map[string]int{}, map[string]int{}
	srv := httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	url := "wss" + strings.TrimPrefix(srv.URL, "https") + "/echo"

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := loadtest.Run(ctx, loadtest.Config{
		URL: url, Conns: 50, Workload: loadtest.Echo, MsgRate: 20,
		Duration: 500 * time.Millisecond, Insecure: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Up != 50 || res.Failed != 0 || res.Dropped != 0 {
		t.Fatalf("up %d, failed %d (%v), dropped %d; want 50 up", res.Up, res.Failed, res.FailReasons, res.Dropped)
	}
	if res.RTT.Count == 0 {
		t.Errorf("no round trips measured over wss")
	}

	// Spread over child processes, which must get Insecure too.
	res, err = loadtest.Run(ctx, loadtest.Config{URL: url, Conns: 20, MaxPerProcess: 10, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Up != 20 || res.Failed != 0 {
		t.Fatalf("two children: up %d, failed %d (%v); want 20 up", res.Up, res.Failed, res.FailReasons)
	}

	res, err = loadtest.Run(ctx, loadtest.Config{URL: url, Conns: 5, Timeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Up != 0 || res.Failed != 5 {
		t.Errorf("untrusted certificate: up %d, failed %d; want 0 up, 5 failed", res.Up, res.Failed)
	}
}

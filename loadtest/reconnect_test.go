package loadtest_test

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wsproxy/loadtest"
)

// tlsEchoServer serves the echo server over TLS on 127.0.0.1:0 with
// tickets on or off and returns its wss:// URL. One tls.Config, hence one
// set of ticket keys: every offered ticket is accepted.
func tlsEchoServer(t *testing.T, tickets bool) string {
	t.Helper()
	s := &echoServer{}
	s.peers, s.cookies = map[string]int{}, map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.TLS = &tls.Config{SessionTicketsDisabled: !tickets}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return "wss" + strings.TrimPrefix(srv.URL, "https") + "/echo"
}

// TestReconnect: every client's first connection is a full handshake and
// each of its reconnections resumes when the server issues tickets; none
// resumes when it does not. The counts are exact: one server, one key.
func TestReconnect(t *testing.T) {
	const clients, again = 6, 3
	for _, tc := range []struct {
		name        string
		tickets     bool
		wantResumed int
	}{
		{"tickets", true, clients * again},
		{"no tickets", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tlsEchoServer(t, tc.tickets)
			ready := 0
			res := run(t, loadtest.Config{
				URL: url, Insecure: true, Conns: clients, Workload: loadtest.Reconnect, Reconnects: again,
				Timeout: 20 * time.Second, MaxPerProcess: 2, // never spread: Reconnect runs in this process
				OnReady: func(up int) {
					ready++
					if up != clients {
						t.Errorf("OnReady(%d); want %d", up, clients)
					}
				},
			})
			if ready != 1 {
				t.Errorf("OnReady called %d times; want 1", ready)
			}
			if res.Up != clients || res.Failed != 0 || res.Handshake.Count != clients || res.FirstEcho.Count != clients {
				t.Errorf("first connections: up %d, failed %d %v, %d handshakes, %d echoes; want %d of each",
					res.Up, res.Failed, res.FailReasons, res.Handshake.Count, res.FirstEcho.Count, clients)
			}
			if res.Reconnected != clients*again || res.ReconnectFailed != 0 || res.Reconnect.Count != clients*again {
				t.Errorf("reconnections: %d up, %d failed %v, %d timed; want %d up",
					res.Reconnected, res.ReconnectFailed, res.FailReasons, res.Reconnect.Count, clients*again)
			}
			if res.Resumed != tc.wantResumed {
				t.Errorf("got %d resumed; want %d", res.Resumed, tc.wantResumed)
			}
			if err := res.CheckFailures(0); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestReconnectFailures: clients that cannot connect are counted as
// failed, and do not reconnect.
func TestReconnectFailures(t *testing.T) {
	url := "wss" + strings.TrimPrefix(refusedURL(t), "ws")
	res, err := loadtest.Run(t.Context(), loadtest.Config{URL: url, Insecure: true, Conns: 3, Workload: loadtest.Reconnect, Reconnects: 2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Up != 0 || res.Failed != 3 || res.FailReasons["refused"] != 3 || res.Reconnected+res.ReconnectFailed != 0 {
		t.Errorf("up %d, failed %d %v, reconnections %d/%d; want 3 refused and no reconnection",
			res.Up, res.Failed, res.FailReasons, res.Reconnected, res.ReconnectFailed)
	}
}

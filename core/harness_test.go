package core_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"wsproxy/core"
	"wsproxy/internal/config"
)

// testLogger logs through t only when the test fails.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startEcho starts an echo backend on 127.0.0.1:0.
func startEcho(t testing.TB, id string) *core.EchoServer {
	t.Helper()
	e, err := core.NewEcho("127.0.0.1:0", id, 1, testLogger(t))
	if err != nil {
		t.Fatalf("echo: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// startProxy parses yamlText (with %s verbs already filled in), starts a
// proxy on it and returns its address.
func startProxy(t testing.TB, yamlText string) (*core.Server, string) {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yamlText))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	srv, err := core.New(cfg, core.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv, srv.Addrs()[0].String()
}

// simpleProxy is one proxy with route "/" to one echo backend.
func simpleProxy(t testing.TB) (string, *core.EchoServer) {
	e := startEcho(t, "e1")
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes:
  - path: /
    upstream: %q
`, e.Addr().String()))
	return addr, e
}

func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

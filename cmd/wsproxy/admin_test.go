package main

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/admin"
	"wsproxy/internal/testutil"
)

// scrape returns the value of the series matching re (a regexp of the
// whole line without the value) on the admin listener at addr.
func scrape(addr, re string) (float64, error) {
	resp, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`(?m)^` + re + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no series %s in:\n%s", re, b)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// wantSeries waits until the series matching re has value want.
func wantSeries(t *testing.T, addr, re string, want float64) {
	t.Helper()
	testutil.Eventually(t, re, func() error {
		got, err := scrape(addr, re)
		if err == nil && got != want {
			err = fmt.Errorf("%s = %v; want %v", re, got, want)
		}
		return err
	})
}

const requests2xx = `wsproxy_http_requests_total\{code="2xx",route="/",upstream="[^"]+"\}`

// TestAdminSingleProcess: without workers, the process serves its own
// admin listener.
func TestAdminSingleProcess(t *testing.T) {
	cfg := writeConfig(t, "", "127.0.0.1:0", startEcho(t), "/v1", "1s", "admin: {addr: \"127.0.0.1:0\"}\n")
	p := startProc(t, "run", "-config", cfg)
	adminAddr := p.WaitLog(t, adminLine)[1]
	addr := p.WaitLog(t, listeningLine)[1]
	servesPath(t, addr, "/v1/x", 3)
	wantSeries(t, adminAddr, `wsproxy_processes`, 1)
	wantSeries(t, adminAddr, requests2xx, 3)
	p.Signal(t, syscall.SIGTERM)
	if err := p.WaitExit(t); err != nil {
		t.Errorf("exit: %v", err)
	}
}

// TestAdminWorkers: with workers the master serves the admin address and
// sums the workers' counters; a worker killed and replaced does not make
// the totals drop.
func TestAdminWorkers(t *testing.T) {
	cfg := writeConfig(t, "", "127.0.0.1:0", startEcho(t), "/v1", "1s", "admin: {addr: \"127.0.0.1:0\"}\n")
	p := startProc(t, "run", "-config", cfg, "-workers", "2")
	adminAddr := p.WaitLog(t, adminLine)[1]
	addr := p.WaitLog(t, servingLine)[1]
	servesPath(t, addr, "/v1/x", 20)
	wantSeries(t, adminAddr, `wsproxy_processes`, 2)
	total, err := scrape(adminAddr, requests2xx) // 20, or more if servesPath had to retry
	if err != nil || total < 20 {
		t.Fatalf("%s = %v, %v; want at least 20", requests2xx, total, err)
	}
	if status, body := testutil.Get(t, client, "http://"+adminAddr+"/healthz"); status != 200 {
		t.Errorf("healthz: %d %s", status, body)
	}

	victim := 0
	for pid := range p.workers(t) {
		victim = pid
	}
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "a replacement worker", func() error {
		if w := p.workers(t); len(w) != 2 || w[victim] != "" {
			return fmt.Errorf("workers %v", w)
		}
		return nil
	})
	wantSeries(t, adminAddr, `wsproxy_processes`, 2)
	wantSeries(t, adminAddr, requests2xx, total)
	servesPath(t, addr, "/v1/x", 5)
	wantSeries(t, adminAddr, requests2xx, total+5)

	p.Signal(t, syscall.SIGTERM) // the master removes its socket directory
	if err := p.WaitExit(t); err != nil {
		t.Errorf("master exit: %v", err)
	}
}

// TestServerMetrics scrapes a running proxy's counters through the wiring
// of a process without workers: core's Server.Metrics and drains served by
// an admin listener (internal/admin does not import core).
func TestServerMetrics(t *testing.T) {
	backend := startEcho(t)
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
admin: {addr: "127.0.0.1:0"}
upstreams: {echo: {servers: [{addr: %q}]}}
routes: [{path: /, upstream: echo}]
`, backend)))
	if err != nil {
		t.Fatal(err)
	}
	log := testutil.Logger(t)
	srv, err := core.New(cfg, core.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	s, err := admin.Start(admin.Config{Admin: *cfg.Admin, Metrics: srv.Metrics, Logger: log, Drain: serverDrain(srv)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if status, _ := testutil.Get(t, client, "http://"+srv.Addrs()[0].String()+"/hello"); status != 200 {
		t.Fatalf("GET /hello: %d", status)
	}
	_, body := testutil.Get(t, client, "http://"+s.Addr().String()+"/metrics")
	for _, want := range []string{
		`wsproxy_http_requests_total{code="2xx",route="/",upstream="echo"} 1`,
		fmt.Sprintf(`wsproxy_upstream_server_up{server=%q,upstream="echo"} 1`, backend),
		fmt.Sprintf(`wsproxy_upstream_connect_duration_seconds_count{server=%q,upstream="echo"} 1`, backend),
		`wsproxy_websocket_proxy_closes_total{reason="idle_timeout"} 0`,
		`wsproxy_processes 1`,
	} {
		if !strings.Contains(body, "\n"+want+"\n") {
			t.Errorf("no line %q in:\n%s", want, body)
		}
	}
}

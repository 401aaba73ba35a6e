package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsproxy/internal/testutil"
	"wsproxy/internal/wsseq"
)

// reloadStep is one change of TestMeasureReloads: a configuration (from
// reloadConfig) or, with upgrade, another build at the master's path.
type reloadStep struct {
	what    string
	cfg     reloadConfig
	upgrade bool
}

// reloadConfig is what the steps change.
type reloadConfig struct {
	workers      int
	extraRoute   bool
	servers      []string // the upstream's servers, by index into the backends
	idle         string
	maxConns     int
	pingInterval string
}

func (c reloadConfig) text(backends []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "listen: [{addr: \"127.0.0.1:0\"}]\nworkers: %d\nloops: 1\ndrain_timeout: 3s\nlog: {sample: 0}\n", c.workers)
	fmt.Fprintf(&b, "timeouts: {idle: %s}\n", c.idle)
	if c.maxConns > 0 {
		fmt.Fprintf(&b, "limits: {max_conns: %d}\n", c.maxConns)
	}
	b.WriteString("upstreams:\n  echo:\n    servers:\n")
	for _, s := range c.servers {
		i, _ := strconv.Atoi(s)
		fmt.Fprintf(&b, "      - {addr: %q}\n", backends[i])
	}
	b.WriteString("routes:\n")
	if c.extraRoute {
		b.WriteString("  - {path: /extra/, upstream: echo}\n")
	}
	fmt.Fprintf(&b, "  - path: /\n    upstream: echo\n    websocket: {ping: {interval: %s, timeout: 10s, peers: client}}\n", c.pingInterval)
	return b.String()
}

// TestMeasureReloads is issue 12's proof at full size, run by hand:
// WSPROXY_MEASURE_RELOADS=1 (WSPROXY_MEASURE_CONNS, default 3,000 tunnels)
// sends a numbered message a second on every tunnel through a master with
// two workers while it goes through ten reloads (routes added and
// removed, servers added and removed, timeouts, limits, pings, the number
// of workers) and one binary upgrade, drain_timeout 3s, and reports what
// moved, what closed and the longest round trip. Then, if nginx is on
// PATH, the same tunnels through nginx and eleven reloads with
// worker_shutdown_timeout 3s.
func TestMeasureReloads(t *testing.T) {
	if os.Getenv("WSPROXY_MEASURE_RELOADS") != "1" {
		t.Skip("set WSPROXY_MEASURE_RELOADS=1 to measure")
	}
	n := envInt("WSPROXY_MEASURE_CONNS", 3000)
	backends := []string{startEcho(t), startEcho(t)}
	t.Run("wsproxy", func(t *testing.T) { measureReloads(t, n, backends) })
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Log("nginx not on PATH: measuring wsproxy alone")
		return
	}
	t.Run("nginx", func(t *testing.T) { measureNginxReloads(t, n, backends[0]) })
}

func measureReloads(t *testing.T, n int, backends []string) {
	dir := t.TempDir()
	v1, v2 := buildVersion(t, dir, "v1"), buildVersion(t, dir, "v2")
	path := filepath.Join(dir, "wsproxy")
	if err := os.Link(v1, path); err != nil {
		t.Fatal(err)
	}
	c := reloadConfig{workers: 2, servers: []string{"0"}, idle: "60s", pingInterval: "1s"}
	steps := []reloadStep{}
	add := func(what string, f func(*reloadConfig)) {
		f(&c)
		steps = append(steps, reloadStep{what: what, cfg: c})
	}
	add("route added", func(c *reloadConfig) { c.extraRoute = true })
	add("idle timeout 120s", func(c *reloadConfig) { c.idle = "120s" })
	add("server added", func(c *reloadConfig) { c.servers = []string{"0", "1"} })
	add("route removed", func(c *reloadConfig) { c.extraRoute = false })
	add("max_conns 50000", func(c *reloadConfig) { c.maxConns = 50000 })
	add("first server removed", func(c *reloadConfig) { c.servers = []string{"1"} })
	add("first server back", func(c *reloadConfig) { c.servers = []string{"1", "0"} })
	add("ping interval 2s", func(c *reloadConfig) { c.pingInterval = "2s" })
	add("3 workers", func(c *reloadConfig) { c.workers = 3 })
	add("2 workers", func(c *reloadConfig) { c.workers = 2 })
	steps = append(steps, reloadStep{what: "binary upgrade", cfg: c, upgrade: true})

	cfg := filepath.Join(dir, "wsproxy.yaml")
	write := func(rc reloadConfig) {
		if err := os.WriteFile(cfg, []byte(rc.text(backends)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(reloadConfig{workers: 2, servers: []string{"0"}, idle: "60s", pingInterval: "1s"})
	p := startProcAt(t, path, "run", "-config", cfg)
	p.WaitLog(t, `msg="generation serving" generation=1 workers=2 addrs=(\S+)`)
	addr := regexp.MustCompile(`msg="generation serving" generation=1 workers=2 addrs=(\S+)`).FindStringSubmatch(p.Out.String())[1]

	clients := openTunnels(t, addr, n)
	lines := regexp.MustCompile(`msg="tunnels handed over" worker=(\d+)\.\d to=\S+ handed_over=(\d+) kept=(\d+) refused=(\d+) waiting=(\d+) took=(\S+)`)
	appliedLine := regexp.MustCompile(`msg="configuration applied in place" generation=`)
	gen := 1 // the generation serving
	for i, st := range steps {
		if st.upgrade {
			if err := os.Rename(v2, path); err != nil {
				t.Fatal(err)
			}
		} else {
			write(st.cfg)
		}
		applied := len(appliedLine.FindAllString(p.Out.String(), -1))
		finished := regexp.MustCompile(fmt.Sprintf(`msg="generation finished" generation=%d\b`, gen))
		start := time.Now()
		p.Signal(t, syscall.SIGHUP)
		// A reload starts a generation, or is applied in place where the
		// workers can do that (a build with in-place reloads).
		testutil.Eventually(t, "reload "+st.what, func() error {
			if out := p.Out.String(); finished.MatchString(out) || len(appliedLine.FindAllString(out, -1)) > applied {
				return nil
			}
			return fmt.Errorf("not done yet")
		})
		took := time.Since(start)
		if !finished.MatchString(p.Out.String()) {
			t.Logf("RESULT reload %2d (%-20s): applied in place in %s, clients_failed=%d", i+1, st.what,
				took.Round(10*time.Millisecond), failedTunnels(clients))
			time.Sleep(3 * time.Second) // traffic between reloads (pacing, not synchronisation)
			continue
		}
		var handed, kept, refused, waiting int
		var longest string
		for _, m := range lines.FindAllStringSubmatch(p.Out.String(), -1) {
			if m[1] != strconv.Itoa(gen) {
				continue
			}
			h, _ := strconv.Atoi(m[2])
			k, _ := strconv.Atoi(m[3])
			r, _ := strconv.Atoi(m[4])
			w, _ := strconv.Atoi(m[5])
			handed, kept, refused, waiting = handed+h, kept+k, refused+r, waiting+w
			if longest == "" || parseDur(m[6]) > parseDur(longest) {
				longest = m[6]
			}
		}
		gen++
		t.Logf("RESULT reload %2d (%-20s): new generation, handed_over=%d kept=%d refused=%d waiting=%d longest_worker=%s old_generation_gone_after=%s clients_failed=%d",
			i+1, st.what, handed, kept, refused, waiting, longest, took.Round(10*time.Millisecond), failedTunnels(clients))
		time.Sleep(3 * time.Second) // traffic between reloads (pacing, not synchronisation)
	}

	finishTunnels(t, clients, true)
	if out := p.Out.String(); strings.Contains(out, "level=ERROR") {
		t.Logf("errors in the log:\n%s", grepLines(out, "level=ERROR"))
	}
}

// openTunnels opens n tunnels through addr, each sending a numbered
// message a second.
func openTunnels(t *testing.T, addr string, n int) []*wsseq.Client {
	t.Helper()
	end := time.Now().Add(30 * time.Minute)
	clients := make([]*wsseq.Client, n)
	for i := range clients {
		cl, err := wsseq.Dial(addr, "/", i, end)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		cl.SetLarge(0, 0)
		cl.Pump(1, time.Second)
		clients[i] = cl
	}
	for _, cl := range clients {
		if err := cl.Wait(1, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("RESULT %d tunnels open, each sending a numbered message a second", n)
	return clients
}

// failedTunnels counts the clients that saw an error so far.
func failedTunnels(clients []*wsseq.Client) int {
	errs := 0
	for _, cl := range clients {
		if cl.Err() != nil {
			errs++
		}
	}
	return errs
}

// finishTunnels stops the clients and reports; with pings, it waits for
// every live client to answer one more Ping.
func finishTunnels(t *testing.T, clients []*wsseq.Client, pings bool) {
	t.Helper()
	var sent, echoed uint64
	var maxRTT time.Duration
	failed := 0
	var first error
	for _, cl := range clients {
		if err := cl.Stop(time.Minute); err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
		sent, echoed = sent+cl.Sent(), echoed+cl.Echoed()
		maxRTT = max(maxRTT, cl.MaxRTT())
	}
	seen := make([]uint64, len(clients))
	for i, cl := range clients {
		seen[i] = cl.Pings()
	}
	pinged := 0
	for i, cl := range clients {
		if pings && cl.Err() == nil && cl.WaitPings(seen[i]+1, time.Minute) == nil {
			pinged++
		}
	}
	t.Logf("RESULT %d tunnels: %d failed (Close, error or a message lost, repeated or reordered; first: %v); messages sent %d, echoed in order %d; longest round trip %s; %d answered a Ping after the last reload",
		len(clients), failed, first, sent, echoed, maxRTT.Round(time.Millisecond), pinged)
}

// measureNginxReloads runs the tunnels through nginx 1.22 (two workers,
// worker_shutdown_timeout 3s) and reloads it eleven times, three seconds
// apart.
func measureNginxReloads(t *testing.T, n int, backend string) {
	prefix := t.TempDir()
	// nginx takes the listener as across its own binary upgrade (the
	// NGINX variable names the inherited descriptor): no port race.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	lnFile, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	defer lnFile.Close()
	conf := filepath.Join(prefix, "nginx.conf")
	text := fmt.Sprintf(`worker_processes 2;
pid %[1]s/nginx.pid;
worker_rlimit_nofile 20000;
worker_shutdown_timeout 3s;
events { worker_connections 10000; }
http {
    access_log off;
    server {
        listen %[2]s;
        location / {
            proxy_pass http://%[3]s;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 1h;
        }
    }
}
`, prefix, addr, backend)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nginx", "-p", prefix, "-e", prefix+"/error.log", "-c", conf, "-g", "daemon off;")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.ExtraFiles = []*os.File{lnFile}
	cmd.Env = append(os.Environ(), "NGINX=3;")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	testutil.Eventually(t, "nginx listening", func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	})
	clients := openTunnels(t, addr, n)
	for i := range 11 {
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(4 * time.Second) // worker_shutdown_timeout, then traffic (pacing)
		t.Logf("RESULT nginx reload %2d: clients_failed=%d", i+1, failedTunnels(clients))
	}
	finishTunnels(t, clients, false)
}

func parseDur(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

func grepLines(text, sub string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

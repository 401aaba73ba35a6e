package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// TestMeasureTLS measures the TLS listener for BENCHMARKS.md. It runs only
// when WSPROXY_MEASURE_TLS=1, takes a minute or two, and wants an otherwise
// idle machine:
//
//	WSPROXY_MEASURE_TLS=1 go test -run TestMeasureTLS -v -timeout 30m ./cmd/wsproxy/
//
// Knobs (environment): WSPROXY_MEASURE_CONNS (idle wss connections,
// default 3000), WSPROXY_MEASURE_HANDSHAKES (per trial, default 4000),
// WSPROXY_MEASURE_CLIENTS (concurrent handshaking clients, default 32),
// WSPROXY_MEASURE_ROUNDS (default 2), WSPROXY_MEASURE_GOGC (GOGC values
// for further idle trials of wsproxy, e.g. "50,25"; default none),
// WSPROXY_MEASURE_NOTRIM=1 (one more idle trial of wsproxy with
// WSPROXY_TLS_TRIM=0, which keeps crypto/tls's empty input buffers; see
// core/tls_trim.go).
//
// Each proxy runs as a process group of its own with two event loops or
// workers, in front of an echo backend inside the test process, with one
// ECDSA P-256 certificate; the clients are in the test process too, so
// they share the two cores with the proxy.
//
//	idle       100 wss connections opened and closed (warm-up), VmRSS of the
//	           proxy's processes sampled, N wss connections opened with one
//	           echo each, sampled again at once and after 10 s of idleness;
//	           bytes per connection = difference / N. For wsproxy also the
//	           live heap: HeapAlloc after a forced GC (admin pprof,
//	           /debug/pprof/heap?gc=1), taken right after the first and the
//	           last RSS sample, so that the forced GCs move no RSS sample
//	           but "loaded" (the one after the baseline GC).
//	handshake  full handshakes (no resumption) as fast as the clients go:
//	           "tls" connects, handshakes and closes; "wss" also upgrades
//	           through the proxy to the backend and echoes one message.
//	           Rate = handshakes / wall time; CPU = proxy utime+stime per
//	           handshake. Key exchange as Go clients offer it (X25519MLKEM768
//	           first) and with X25519 only.
//
// nginx (if on PATH) runs the seed's section 2 server block, changed only
// where current nginx and clients need it: "listen ... ssl" for the
// removed "ssl on", ssl_protocols TLSv1.2 TLSv1.3 for SSLv2 SSLv3 TLSv1,
// worker_processes 2 to match the two loops, and access_log off.
func TestMeasureTLS(t *testing.T) {
	if os.Getenv("WSPROXY_MEASURE_TLS") != "1" {
		t.Skip("set WSPROXY_MEASURE_TLS=1 to measure")
	}
	conns := envInt("WSPROXY_MEASURE_CONNS", 3000)
	handshakes := envInt("WSPROXY_MEASURE_HANDSHAKES", 4000)
	clients := envInt("WSPROXY_MEASURE_CLIENTS", 32)
	rounds := envInt("WSPROXY_MEASURE_ROUNDS", 2)

	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	backend := startEcho(t)
	proxies := []string{"wsproxy"}
	if _, err := exec.LookPath("nginx"); err == nil {
		proxies = append(proxies, "nginx")
	} else {
		t.Log("nginx not on PATH: measuring wsproxy alone")
	}

	// Every trial is a subtest, so that its proxy is gone before the next.
	// env is set for the proxy process only: this one has started.
	idle := func(name, px string, env ...string) {
		t.Run("idle/"+name, func(t *testing.T) {
			for i := 0; i+1 < len(env); i += 2 {
				t.Setenv(env[i], env[i+1])
			}
			addr, pid, admin := startTLSProxyProc(t, px, dir, cert, key, backend, 0)
			r := measureIdle(t, addr, admin, pid, conns)
			heap := ""
			if admin != "" {
				heap = fmt.Sprintf(" heap_before=%s heap_settled=%s heap_per_conn=%.0f B",
					kb(r.heapBefore), kb(r.heapSettled), float64(r.heapSettled-r.heapBefore)/float64(r.conns))
			}
			t.Logf("RESULT idle %-8s conns=%d before=%s loaded=%s settled=%s per_conn_loaded=%.0f B per_conn_settled=%.0f B%s",
				name, r.conns, kb(r.before), kb(r.loaded), kb(r.settled),
				float64(r.loaded-r.before)/float64(r.conns), float64(r.settled-r.before)/float64(r.conns), heap)
		})
	}
	for _, px := range proxies {
		idle(px, px)
	}
	if os.Getenv("WSPROXY_MEASURE_NOTRIM") == "1" {
		idle("wsproxy-TLS_TRIM=0", "wsproxy", "WSPROXY_TLS_TRIM", "0")
	}
	for _, g := range strings.Split(os.Getenv("WSPROXY_MEASURE_GOGC"), ",") {
		if g != "" {
			idle("wsproxy-GOGC="+g, "wsproxy", "GOGC", g)
		}
	}
	for round := 1; round <= rounds; round++ {
		for _, kx := range []string{"default", "x25519"} {
			for _, mode := range []string{"tls", "wss"} {
				for _, px := range proxies {
					t.Run(fmt.Sprintf("handshake/%d/%s/%s/%s", round, kx, mode, px), func(t *testing.T) {
						addr, pid, _ := startTLSProxyProc(t, px, dir, cert, key, backend, 0)
						r := measureHandshakes(t, addr, pid, mode, kx, handshakes, clients)
						t.Logf("RESULT handshake round=%d kx=%s mode=%s %-8s n=%d rate=%.0f/s cpu=%.0f us/handshake group=%s errors=%d",
							round, kx, mode, px, r.n, r.rate, r.cpuPer.Seconds()*1e6, r.group, r.errors)
					})
				}
			}
		}
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func kb(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// startTLSProxyProc starts wsproxy or nginx with a TLS listener in front of
// backend and returns the address, the process group and, for wsproxy, the
// address of its admin listener (with pprof). headerRead, unless 0, bounds
// reading a request head and the TLS handshake before it (wsproxy's
// header_read, nginx's client_header_timeout).
//
// wsproxy binds port 0 and writes the addresses it got to -addr-file; nginx
// is handed a listener made here (the NGINX environment variable).
func startTLSProxyProc(t *testing.T, px, dir, cert, key, backend string, headerRead time.Duration) (string, int, string) {
	t.Helper()
	switch px {
	case "wsproxy":
		cfg := filepath.Join(t.TempDir(), "wsproxy.yaml")
		text := fmt.Sprintf(`listen: [{addr: "127.0.0.1:0", tls: {cert: %q, key: %q}}]
loops: 2
routes: [{path: /, upstream: %q}]
admin: {addr: "127.0.0.1:0", pprof: true}
`, cert, key, backend)
		if headerRead > 0 {
			text += fmt.Sprintf("timeouts: {header_read: %s}\n", headerRead)
		}
		if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "addrs")
		p := startProc(t, "run", "-config", cfg, "-log-level", "warn", "-addr-file", file)
		addrs := waitAddrFile(t, p, file)
		addr := addrs["listen"][0]
		waitTLS(t, addr)
		return addr, p.Pid(), addrs["admin"][0]
	case "nginx":
		addr, ln := testutil.ListenFile(t)
		prefix := t.TempDir()
		conf := filepath.Join(prefix, "nginx.conf")
		text := fmt.Sprintf(`worker_processes 2;
error_log %[1]s/error.log;
pid %[1]s/nginx.pid;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
    access_log off;
%[6]s
    server {
        listen       %[2]s ssl;
        server_name  ws.example.com;

        ssl_certificate %[3]s;
        ssl_certificate_key %[4]s;
        ssl_session_timeout 5m;
        ssl_protocols  TLSv1.2 TLSv1.3;
        ssl_ciphers  HIGH:!aNULL:!MD5;
        ssl_prefer_server_ciphers   on;

        location / {
            access_log off;
            proxy_pass http://%[5]s;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection "upgrade";
        }
    }
}
`, prefix, addr, cert, key, backend, nginxHeaderRead(headerRead))
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("nginx", "-p", prefix, "-e", prefix+"/error.log", "-c", conf, "-g", "daemon off;")
		cmd.ExtraFiles = []*os.File{ln} // fd 3
		cmd.Env = append(os.Environ(), "NGINX=3;")
		p := testutil.Start(t, "nginx", cmd)
		waitTLS(t, addr)
		return addr, p.Pid(), ""
	}
	t.Fatalf("unknown proxy %s", px)
	return "", 0, ""
}

func nginxHeaderRead(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("    client_header_timeout %dms;", d.Milliseconds())
}

// waitTLS waits until a TLS handshake with addr succeeds.
func waitTLS(t *testing.T, addr string) {
	t.Helper()
	testutil.Eventually(t, "TLS handshake with "+addr, func() error {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, measureTLS("default"))
		if err == nil {
			c.Close()
		}
		return err
	})
}

// measureTLS is the clients' configuration: full handshakes only.
func measureTLS(kx string) *tls.Config {
	cfg := &tls.Config{RootCAs: testcert.Roots(), ServerName: "ws.example.com"}
	if kx == "x25519" {
		cfg.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	return cfg
}

type idleResult struct {
	conns                   int
	before, loaded, settled int64
	heapBefore, heapSettled int64 // live heap; 0 without admin
}

// liveHeap is the HeapAlloc of the wsproxy whose admin listener is admin,
// after a forced GC; 0 if admin is "".
func liveHeap(t *testing.T, admin string) int64 {
	if admin == "" {
		return 0
	}
	resp, err := http.Get("http://" + admin + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	_, v, ok := strings.Cut(string(b), "\n# HeapAlloc = ")
	if !ok {
		t.Fatalf("no HeapAlloc in the heap profile from %s", admin)
	}
	v, _, _ = strings.Cut(v, "\n")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func measureIdle(t *testing.T, addr, admin string, pgid, n int) idleResult {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, TLSClientConfig: measureTLS("default")}
	url := "wss://" + addr + "/ws"
	open := func(n int) []*websocket.Conn {
		conns := make([]*websocket.Conn, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Value
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					c, _, err := d.Dial(url, nil)
					if err == nil {
						c.NetConn().SetDeadline(time.Now().Add(30 * time.Second))
						if err = c.WriteMessage(websocket.TextMessage, []byte("hello")); err == nil {
							_, _, err = c.ReadMessage()
						}
						c.NetConn().SetDeadline(time.Time{})
					}
					if err != nil {
						failed.Store(fmt.Errorf("connection %d: %v", i, err))
						return
					}
					conns[i] = c
				}
			}()
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			t.Fatal(err)
		}
		return conns
	}
	closeAll := func(conns []*websocket.Conn) {
		for _, c := range conns {
			c.Close()
		}
	}
	closeAll(open(100))
	time.Sleep(2 * time.Second) // let the warm-up connections close on the proxy side
	r := idleResult{conns: n, before: groupRSS(pgid)}
	r.heapBefore = liveHeap(t, admin)
	conns := open(n)
	r.loaded = groupRSS(pgid)
	time.Sleep(10 * time.Second)
	r.settled = groupRSS(pgid)
	r.heapSettled = liveHeap(t, admin)
	closeAll(conns)
	return r
}

type handshakeResult struct {
	n, errors int
	rate      float64
	cpuPer    time.Duration
	group     string
}

func measureHandshakes(t *testing.T, addr string, pgid int, mode, kx string, n, clients int) handshakeResult {
	cfg := measureTLS(kx)
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, TLSClientConfig: cfg}
	var next, errs atomic.Int64
	var group atomic.Value
	one := func() error {
		if mode == "wss" {
			c, _, err := d.Dial("wss://"+addr+"/ws", nil)
			if err != nil {
				return err
			}
			defer c.Close()
			c.NetConn().SetDeadline(time.Now().Add(10 * time.Second))
			if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
				return err
			}
			_, _, err = c.ReadMessage()
			return err
		}
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
		if err != nil {
			return err
		}
		group.Store(c.ConnectionState().CurveID.String())
		return c.Close()
	}
	cpu0 := groupCPU(pgid)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := one(); err != nil {
					if errs.Add(1) == 1 {
						t.Logf("%s handshake: %v", mode, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := groupCPU(pgid) - cpu0
	g, _ := group.Load().(string)
	if g == "" {
		g = "-"
	}
	return handshakeResult{n: n, errors: int(errs.Load()), rate: float64(n) / el.Seconds(),
		cpuPer: cpu / time.Duration(n), group: g}
}

// groupPIDs lists the live processes of process group pgid.
func groupPIDs(pgid int) []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) && f[0] != "Z" {
			pids = append(pids, d)
		}
	}
	return pids
}

// groupRSS is the sum of VmRSS over process group pgid, in bytes.
func groupRSS(pgid int) int64 {
	var sum int64
	for _, d := range groupPIDs(pgid) {
		b, _ := os.ReadFile(d + "/status")
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += kb << 10
			}
		}
	}
	return sum
}

// groupCPU is the user and system CPU time used so far by the live
// processes of group pgid.
func groupCPU(pgid int) time.Duration {
	const ticks = 100 // USER_HZ
	var sum int64
	for _, d := range groupPIDs(pgid) {
		stat, _ := os.ReadFile(d + "/stat")
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			sum += u + s
		}
	}
	return time.Duration(sum) * time.Second / ticks
}

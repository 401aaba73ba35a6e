package core_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"wsproxy/internal/testutil"
)

// nginx 1.22 is the reference of issue 10: TestDifferentialNginx sends
// every differential row through nginx too, configured as the proxy is
// (backendNginx), and fails on a difference the row does not explain.
// With -v it logs the comparison table kept in BENCHMARKS.md.

// nginxBin returns the nginx binary and its version, or skips: the table
// is for nginx 1.22 (Debian bookworm), and other versions answer some
// rows differently (1.23 refuses repeated Content-Length from backends).
func nginxBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Skip("nginx is not installed (apt-get install nginx); the comparison needs it")
		}
		bin = "/usr/sbin/nginx"
	}
	out, err := exec.Command(bin, "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("%s -v: %v: %s", bin, err, out)
	}
	v := regexp.MustCompile(`nginx/(\S+)`).FindStringSubmatch(string(out))
	if v == nil || !strings.HasPrefix(v[1], "1.22.") {
		t.Skipf("the comparison is with nginx 1.22; found %q", out)
	}
	return bin
}

// backendNginx is routesYAML in nginx.conf: a host server for a.test, a
// rewriting /admin location (proxy_pass with a URI part), /public and a
// catch-all without one; Host as $host, HTTP/1.1 and keep-alive to the
// backend, as a WebSocket-capable nginx front is usually set up.
const backendNginx = `
daemon off;
worker_processes 1;
%[1]s
error_log %[2]s/error.log info;
pid %[2]s/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[2]s/body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    upstream b { server %[3]s; keepalive 8; }
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $host;
    %[5]s
    server {
        listen %[4]s;
        server_name _;
        location / { proxy_pass http://b; }
        location /public { proxy_pass http://b; }
        location /admin { proxy_pass http://b/ADMIN; }
    }
    server {
        listen %[4]s;
        server_name a.test;
        location / { proxy_pass http://b/host-a/; }
    }
}
`

// startNginx runs nginx in front of backend. Its listening socket is made
// here and handed over as nginx hands sockets to a new binary (the NGINX
// environment variable), so it listens before nginx starts: no port is
// guessed, no wait for readiness. stop ends nginx and its connections.
func startNginx(t *testing.T, backend, extra string) (dial func() (net.Conn, error), stop func()) {
	t.Helper()
	bin := nginxBin(t)
	dir := t.TempDir()
	addr, ln := testutil.ListenFile(t)
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers that can write the temp directories
	}
	conf := fmt.Sprintf(backendNginx, user, dir, backend, addr, extra)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", cf)
	cmd.ExtraFiles = []*os.File{ln} // fd 3
	cmd.Env = append(os.Environ(), "NGINX=3;")
	p := testutil.Start(t, "nginx", cmd)
	stop = sync.OnceFunc(func() {
		_ = p.Cmd.Process.Signal(syscall.SIGINT) // fast shutdown: connections closed (an error: it has exited)
		_ = p.WaitExit(t)
	})
	t.Cleanup(stop)
	return func() (net.Conn, error) { return net.Dial("tcp", addr) }, stop
}

// collector gathers a check's complaints instead of failing the test.
type collector struct{ msgs []string }

func (c *collector) Errorf(format string, args ...any) {
	c.msgs = append(c.msgs, fmt.Sprintf(format, args...))
}

func TestDifferentialNginx(t *testing.T) {
	nginxBin(t)
	var table strings.Builder
	table.WriteString("| row | wsproxy: client / backend | nginx 1.22: client / backend | why we differ |\n|---|---|---|---|\n")
	for _, tc := range allDiffCases() {
		if tc.config != "" && tc.nginxConf == "" {
			fmt.Fprintf(&table, "| %s | %s / %s | (no equivalent) | %s |\n", tc.name, cell(tc.client), cell(tc.backend), tc.nginx)
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			ours := [2]string{tc.client, tc.backend}
			client, backend, reqs, resps := runDiff(t, tc, func(t *testing.T, b string) (func() (net.Conn, error), func()) {
				return startNginx(t, b, tc.nginxConf)
			})
			var c collector
			if tc.check != nil {
				tc.check(&c, reqs, resps)
			}
			theirs := [2]string{client, backend}
			same := theirs == ours && len(c.msgs) == 0
			note := ""
			if !same {
				note = tc.nginx
				if len(c.msgs) > 0 {
					theirs[1] += " (" + strings.Join(c.msgs, "; ") + ")"
				}
				if tc.nginx == "" {
					t.Errorf("nginx: %q / %q; wsproxy: %q / %q, and the row does not say why", theirs[0], theirs[1], ours[0], ours[1])
				}
			} else if tc.nginx != "" {
				t.Errorf("nginx answers as wsproxy does, but the row says it differs: %s", tc.nginx)
			}
			nginxCell := "same"
			if !same {
				nginxCell = fmt.Sprintf("%s / %s", cell(theirs[0]), cell(theirs[1]))
			}
			fmt.Fprintf(&table, "| %s | %s / %s | %s | %s |\n", tc.name, cell(ours[0]), cell(ours[1]), nginxCell, note)
		})
	}
	t.Log("\n" + table.String())
}

// cell formats a summary for a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return "–"
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

// TestLingerNginx compares the lost-answer test of issue 10 item 6 with
// nginx: 20 connections each send a 200 KB header line through a small
// send buffer and then read. It fails if the proxy loses an answer; it
// logs how many nginx delivered (its lingering_close is the model).
func TestLingerNginx(t *testing.T) {
	in := "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + strings.Repeat("a", 200<<10) + "\r\n\r\n"
	rec := startRecorder(t, nil)
	dialNginx, _ := startNginx(t, rec.addr, "")
	c, err := dialNginx()
	if err != nil {
		t.Fatal(err)
	}
	nginxAddr := c.RemoteAddr().String()
	c.Close()
	count := func(addr string) (got map[int]int) {
		got = map[int]int{}
		for i := 0; i < 20; i++ {
			status, err := answerTo(t, addr, in)
			if err != nil {
				status = 0
			}
			got[status]++
		}
		return got
	}
	_, proxyAddr := startProxy(t, fmt.Sprintf("listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: %q}]\n", rec.addr))
	we, they := count(proxyAddr), count(nginxAddr)
	t.Logf("answers read of 20 (status: count; 0: lost): wsproxy %v, nginx %v", we, they)
	if we[431] != 20 {
		t.Errorf("wsproxy: got %v; want 20 × 431", we)
	}
}

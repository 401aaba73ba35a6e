package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"wsproxy/config"
	"wsproxy/internal/testutil"
)

func testSetup(t *testing.T) setup {
	return setup{
		Listen:   "127.0.0.1:18080",
		Backends: []string{"127.0.0.1:10081", "127.0.0.1:10082", "127.0.0.1:10083"},
		Conns:    5000,
		Files:    20000,
		Dir:      t.TempDir(),
	}
}

// TestProxyConfigs checks that each generated configuration says what the
// seed's section 4 says, in that proxy's words.
func TestProxyConfigs(t *testing.T) {
	s := testSetup(t)
	tests := []struct {
		name string
		want []string
	}{
		{Wsproxy, []string{
			`addr: "127.0.0.1:18080"`, "balance: ip_hash", `addr: "127.0.0.1:10083"`,
			"path: /services/myservice", `regex: "^/services/myservice/(.*)"`, `to: "/$1"`, "idle: 1h",
		}},
		{Nginx, []string{
			"daemon off;", "worker_processes auto;", "worker_rlimit_nofile 20000;",
			"worker_connections 10128;", "ip_hash;", "server 127.0.0.1:10082;",
			"listen 127.0.0.1:18080;", "location /services/myservice {", "proxy_pass http://webpush;",
			"proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
			`proxy_set_header Connection "upgrade";`, "proxy_read_timeout 1h;",
			"rewrite /services/myservice/(.*) /$1 break;", "pid " + s.path("nginx.pid") + ";",
		}},
		{HAProxy, []string{
			"mode http", "maxconn 5256", "timeout tunnel 1h", "bind fd@3",
			"balance source", `http-request replace-path /services/myservice/(.*) /\1`,
			"server ws3 127.0.0.1:10083", "http-request set-header X-Real-IP %[src]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := proxies[tt.name].config(s)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("config lacks %q; got\n%s", w, got)
				}
			}
			if strings.Contains(got, "%!") {
				t.Errorf("formatting error in\n%s", got)
			}
		})
	}
}

// TestProxyConfigLimits checks that connection limits follow the file limit.
func TestProxyConfigLimits(t *testing.T) {
	s := testSetup(t)
	s.Conns = 9990
	if got := nginxConfig(s); !strings.Contains(got, "worker_connections 19936;") {
		t.Errorf("nginx worker_connections not capped by the file limit:\n%s", got)
	}
	if got := haproxyConfig(s); !strings.Contains(got, "maxconn 9900") {
		t.Errorf("haproxy maxconn not capped by the file limit:\n%s", got)
	}
}

// TestWsproxyConfigValid parses the generated YAML with package config.
func TestWsproxyConfigValid(t *testing.T) {
	c, err := config.Parse("bench.yaml", []byte(wsproxyConfig(testSetup(t))))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams["webpush"]
	if u == nil || len(u.Servers) != 3 || u.Balance != config.BalanceIPHash {
		t.Errorf("upstream webpush = %+v; want 3 servers, ip_hash", u)
	}
}

// TestPeerConfigsAccepted asks nginx -t and haproxy -c, where installed,
// whether they accept the generated configurations.
func TestPeerConfigsAccepted(t *testing.T) {
	for _, name := range []string{Nginx, HAProxy} {
		t.Run(name, func(t *testing.T) {
			bin, err := exec.LookPath(name)
			if err != nil {
				t.Skipf("%s not installed", name)
			}
			if err := peerAccepts(t, bin, name, testSetup(t)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestAffinityConfigs: -affinity binds each proxy's workers in its own
// words (nginx worker_cpu_affinity auto, HAProxy cpu-map, wsproxy
// cpu_affinity: auto), which wsproxy's config package, nginx -t and
// haproxy -c (where installed) accept; without it no configuration binds.
func TestAffinityConfigs(t *testing.T) {
	want := map[string]string{
		Wsproxy: "cpu_affinity: auto",
		Nginx:   "worker_cpu_affinity auto;",
		HAProxy: fmt.Sprintf("cpu-map auto:1/1-%d 0-%d", runtime.NumCPU(), runtime.NumCPU()-1),
	}
	for name, line := range want {
		t.Run(name, func(t *testing.T) {
			s := testSetup(t)
			if got := proxies[name].config(s); strings.Contains(got, line) {
				t.Errorf("without Affinity the config has %q", line)
			}
			s.Affinity = true
			got := proxies[name].config(s)
			if !strings.Contains(got, line) {
				t.Fatalf("config lacks %q; got\n%s", line, got)
			}
			if name == Wsproxy {
				c, err := config.Parse("bench.yaml", []byte(got))
				if err != nil || c.CPUAffinity != config.AffinityAuto {
					t.Fatalf("parsed: %v, cpu_affinity %q", err, c.CPUAffinity)
				}
				return
			}
			bin, err := exec.LookPath(name)
			if err != nil {
				t.Skipf("%s not installed", name)
			}
			if err := peerAccepts(t, bin, name, s); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// peerAccepts writes the configuration of peer name for s and asks the
// peer (nginx -t, haproxy -c), handed a listening socket as bench hands
// it, whether it accepts it.
func peerAccepts(t *testing.T, bin, name string, s setup) error {
	p := proxies[name]
	addr, ln := testutil.ListenFile(t)
	s.Listen = addr
	file := filepath.Join(s.Dir, p.file)
	if err := os.WriteFile(file, []byte(p.config(s)), 0o644); err != nil {
		return err
	}
	argv := append(p.argv(bin, file, s), map[string]string{Nginx: "-t", HAProxy: "-c"}[name])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.ExtraFiles = []*os.File{ln} // HAProxy checks that its bind fd@3 is a socket
	cmd.Env = append(os.Environ(), p.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s rejects the generated config: %v\n%s", name, err, out)
	}
	return nil
}

func TestLookPeer(t *testing.T) {
	if _, err := lookPeer("envoy"); err == nil || !strings.Contains(err.Error(), "unknown peer") {
		t.Errorf("lookPeer(envoy) = %v; want unknown peer", err)
	}
	t.Setenv("PATH", t.TempDir())
	_, err := lookPeer(Nginx)
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y nginx haproxy") {
		t.Errorf("lookPeer(nginx) with empty PATH = %v; want the apt-get hint", err)
	}
}

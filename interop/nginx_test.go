//go:build linux

package interop

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"wsproxy/internal/testutil"
)

// nginx is an nginx in front of the same servers as wsproxy, configured as
// its documentation says for WebSocket proxying, and passing the Host
// header on as wsproxy does: gorilla and coder/websocket compare it with
// the Origin of a browser's handshake.
type nginx struct {
	ws, wss string // base URLs
}

func (n *nginx) base(scheme string) string {
	if scheme == "wss" {
		return n.wss
	}
	return n.ws
}

// nginxConf is the configuration: the listeners are the inherited sockets
// (see startNginx); %[1]s is the working directory.
const nginxConf = `daemon off;
master_process on;
worker_processes 1;
user root;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log notice;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/client_body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen %[2]s;
    listen %[3]s ssl;
    ssl_certificate %[4]s;
    ssl_certificate_key %[5]s;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    proxy_set_header Host $http_host;
    proxy_read_timeout 1h;
%[6]s  }
}
`

// startNginx starts nginx with a location /NAME/ for each upstream of
// routes, a plain and a TLS listener, or says why it cannot.
//
// nginx takes no port 0, but it takes listening sockets from its parent
// (the NGINX variable, as in its binary upgrade): the test listens on
// 127.0.0.1:0 itself and hands both sockets over, so no port is chosen and
// then bound by someone else. Connections queue on them until nginx
// accepts. Inherited sockets need the master process (in single-process
// mode nginx 1.22 crashes on them).
func startNginx(t *testing.T, routes map[string]string, cert, key string) (*nginx, error) {
	t.Helper()
	bin, err := program("nginx", "nginx", "/usr/sbin/nginx")
	if err != nil {
		return nil, err
	}
	dir := t.TempDir()
	var files []*os.File
	var addrs []string
	for range 2 {
		addr, f := testutil.ListenFile(t)
		files = append(files, f)
		addrs = append(addrs, addr)
	}
	names := make([]string, 0, len(routes))
	for name := range routes {
		names = append(names, name)
	}
	sort.Strings(names)
	var locs strings.Builder
	for _, name := range names {
		fmt.Fprintf(&locs, "    location /%s/ { proxy_pass http://%s; }\n", name, routes[name])
	}
	conf := filepath.Join(dir, "nginx.conf")
	text := fmt.Sprintf(nginxConf, dir, addrs[0], addrs[1], cert, key, locs.String())
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	cmd.ExtraFiles = files // descriptors 3 and 4
	cmd.Env = append(os.Environ(), "NGINX=3;4;")
	start(t, "nginx", cmd) // the listeners stay non-blocking, as nginx expects
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "error.log")); err == nil {
				t.Logf("nginx error.log:\n%s", b)
			}
		}
	})
	return &nginx{ws: "ws://" + addrs[0], wss: "wss://" + addrs[1]}, nil
}

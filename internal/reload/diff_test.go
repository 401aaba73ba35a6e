package reload

import (
	"fmt"
	"strings"
	"testing"

	"wsproxy/config"
)

const base = `
listen: [{addr: "127.0.0.1:8080"}]
workers: 2
loops: 2
admin: {addr: "127.0.0.1:9090"}
timeouts: {idle: 1h}
upstreams:
  api:
    balance: least_conn
    servers: [{addr: "10.0.0.1:80"}, {addr: "10.0.0.2:80", weight: 2}]
routes:
  - {path: /, upstream: api}
  - {path: /chat, upstream: api, websocket: {max_frame: 1024}}
`

func parse(t *testing.T, text string) *config.Config {
	t.Helper()
	c, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name string
		next string
		want string // fmt.Sprint of Attrs()
	}{
		{"same file", base, "[changed nothing]"},
		{"comments and lines move", "# a comment\n\n" + base, "[changed nothing]"},
		{"timeout", replace(base, "idle: 1h", "idle: 2h"), "[changed timeouts.idle]"},
		{"route added", base + "  - {path: /new, upstream: api}\n", "[routes_added /new -> api]"},
		{"route removed", replace(base, "  - {path: /chat, upstream: api, websocket: {max_frame: 1024}}\n", ""), "[routes_removed /chat -> api]"},
		{"route policy", replace(base, "max_frame: 1024", "max_frame: 2048"), "[changed routes[/chat].websocket.max_frame]"},
		{"server added and removed", replace(base, `{addr: "10.0.0.1:80"}`, `{addr: "10.0.0.3:80"}`),
			"[servers_added api 10.0.0.3:80 servers_removed api 10.0.0.1:80]"},
		{"server weight and policy", replace(replace(base, "weight: 2", "weight: 3"), "least_conn", "round_robin"),
			"[changed upstreams.api.balance,upstreams.api.servers[10.0.0.2:80].weight]"},
		{"listener", replace(base, "8080", "8081"), "[generation listen[0].addr]"},
		{"listener added", replace(base, `listen: [{addr: "127.0.0.1:8080"}]`, `listen: [{addr: "127.0.0.1:8080"}, {addr: ":8443"}]`), "[generation listen]"},
		{"proxy protocol", replace(base, `{addr: "127.0.0.1:8080"}`, `{addr: "127.0.0.1:8080", proxy_protocol: true}`), "[generation listen[0].proxy_protocol]"},
		{"listener buffers", replace(base, `{addr: "127.0.0.1:8080"}`, `{addr: "127.0.0.1:8080", rcvbuf: 64k}`), "[generation listen[0].rcvbuf]"},
		{"upstream buffers", replace(base, "balance: least_conn", "balance: least_conn\n    sndbuf: 64k"), "[changed upstreams.api.sndbuf]"},
		{"upstream notsent_lowat", replace(base, "balance: least_conn", "balance: least_conn\n    notsent_lowat: 0"), "[changed upstreams.api.notsent_lowat]"},
		{"workers and loops", replace(replace(base, "workers: 2", "workers: 3"), "loops: 2", "loops: 4"), "[generation workers,loops]"},
		{"admin", replace(base, "9090", "9091"), "[generation admin]"},
		{"procs", replace(base, "loops: 2", "loops: 2\nprocs: all"), "[generation procs]"},
		{"cpu_affinity", replace(base, "loops: 2", "loops: 2\ncpu_affinity: auto"), "[generation cpu_affinity]"},
	}
	old := parse(t, base)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Compare(old, parse(t, tc.next))
			if got := fmt.Sprint(d.Attrs()); got != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
			if d.Empty() != (tc.want == "[changed nothing]") {
				t.Errorf("Empty() = %v", d.Empty())
			}
		})
	}
}

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("no " + old)
	}
	return strings.Replace(s, old, new, 1)
}

// TestCompareTLS: a listener's certificate files change in place; the rest
// of its tls section needs a new generation.
func TestCompareTLS(t *testing.T) {
	tlsBase := replace(base, `{addr: "127.0.0.1:8080"}`, `{addr: "127.0.0.1:8443", tls: {cert: a.pem, key: a.key, curves: [X25519]}}`)
	tests := []struct{ name, next, want string }{
		{"certificate files", replace(tlsBase, "a.pem", "b.pem"), "[changed listen[0].tls.certificates]"},
		{"curves", replace(tlsBase, "[X25519]", "[P-256]"), "[generation listen[0].tls.curves]"},
		{"tls off", replace(tlsBase, `, tls: {cert: a.pem, key: a.key, curves: [X25519]}`, ""), "[generation listen[0].tls]"},
	}
	old := parse(t, tlsBase)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(Compare(old, parse(t, tc.next)).Attrs()); got != tc.want {
				t.Errorf("got %s; want %s", got, tc.want)
			}
		})
	}
}

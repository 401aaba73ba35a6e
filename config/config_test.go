package config_test

import (
	"errors"
	"io/fs"
	"reflect"
	"runtime"
	"testing"
	"time"

	"wsproxy/config"
)

// valueCases are files Parse must accept; check inspects the result.
var valueCases = []struct {
	name  string
	in    string
	check func(t *testing.T, c *config.Config)
}{
	{"defaults", y(`listen: [{addr: ":8080"}]`), func(t *testing.T, c *config.Config) {
		eq(t, "Loops", c.Loops, runtime.NumCPU())
		eq(t, "LoopsAuto", c.LoopsAuto, true)
		eq(t, "Workers", c.Workers, 1)
		eq(t, "DrainTimeout", c.DrainTimeout.String(), "30s")
		eq(t, "Timeouts", c.Timeouts, config.Timeouts{
			Connect:    config.Duration(5 * time.Second),
			HeaderRead: config.Duration(10 * time.Second),
			Idle:       config.Duration(time.Hour),
			Read:       config.Duration(time.Minute),
			KeepAlive:  config.Duration(75 * time.Second),
			Handshake:  config.Duration(10 * time.Second),
		})
		eq(t, "Limits", c.Limits, config.Limits{MaxHeaderBytes: 16384, MaxHeaders: 100, MaxPendingBytes: 65536})
		eq(t, "len(Upstreams)", len(c.Upstreams), 0)
		eq(t, "len(Routes)", len(c.Routes), 0)
		eq(t, "File", c.File, "x.yaml")
	}},
	{"explicit values", y(
		`listen:`,
		`  - addr: "[::1]:8443"`,
		`    tls: {cert: a.crt, key: a.key}`,
		`  - addr: 0.0.0.0:8444`,
		`    tls: {min_version: "1.3", certificates: [{cert: b.crt, key: b.key}]}`,
		`upstreams:`,
		`  chat:`,
		`    balance: hash`,
		`    hash_key: cookie:room`,
		`    servers:`,
		`      - {addr: "ws1.example.com:10080", weight: 3, max_conns: 100}`,
		`      - {addr: "ws2.example.com:10080", backup: true}`,
		`routes:`,
		`  - {host: "*.Example.COM", path: /chat, strip_prefix: true, upstream: chat}`,
		`loops: 2`,
		`workers: 4`,
		`drain_timeout: 5s`,
		`timeouts: {connect: 1m30s, header_read: 500ms, idle: 24h}`,
		`limits: {max_header_bytes: 1024, max_headers: 50, max_pending_bytes: 1048576}`,
		`underscores_in_headers: true`,
	), func(t *testing.T, c *config.Config) {
		eq(t, "Listen[0].TLS.Pairs", c.Listen[0].TLS.Pairs(), []config.CertPair{{Cert: "a.crt", Key: "a.key",
			CertAt: "x.yaml:3: listen[0].tls.cert", KeyAt: "x.yaml:3: listen[0].tls.key"}})
		eq(t, "Listen[0].TLS.MinVersion", c.Listen[0].TLS.MinVersion, "1.2")
		eq(t, "Listen[1].TLS.MinVersion", c.Listen[1].TLS.MinVersion, "1.3")
		eq(t, "Listen[1].TLS.Certificates", c.Listen[1].TLS.Certificates, []config.CertPair{{Cert: "b.crt", Key: "b.key",
			CertAt: "x.yaml:5: listen[1].tls.certificates[0].cert", KeyAt: "x.yaml:5: listen[1].tls.certificates[0].key"}})
		u := c.Upstreams["chat"]
		eq(t, "Name", u.Name, "chat")
		eq(t, "Balance", u.Balance, config.BalanceHash)
		eq(t, "HashKey", u.HashKey, "cookie:room")
		eq(t, "Servers", u.Servers, []config.Server{
			{Addr: "ws1.example.com:10080", Weight: 3, MaxConns: 100},
			{Addr: "ws2.example.com:10080", Weight: 1, Backup: true},
		})
		eq(t, "Routes[0]", c.Routes[0], config.Route{Host: "*.example.com", Path: "/chat", StripPrefix: true, Upstream: "chat", Line: 14})
		eq(t, "Loops", c.Loops, 2)
		eq(t, "LoopsAuto", c.LoopsAuto, false)
		eq(t, "Workers", c.Workers, 4)
		eq(t, "DrainTimeout", c.DrainTimeout.String(), "5s")
		eq(t, "Timeouts.Connect", c.Timeouts.Connect.String(), "1m30s")
		eq(t, "Timeouts.HeaderRead", c.Timeouts.HeaderRead.String(), "500ms")
		eq(t, "Limits", c.Limits, config.Limits{MaxHeaderBytes: 1024, MaxHeaders: 50, MaxPendingBytes: 1 << 20})
		eq(t, "UnderscoresInHeaders", c.UnderscoresInHeaders, true)
	}},
	{"address upstream", y(
		`listen: [{addr: ":80"}]`,
		`routes:`,
		`  - upstream: ws1.example.com:10080`,
		`  - {path: /b, upstream: ws1.example.com:10080}`,
	), func(t *testing.T, c *config.Config) {
		eq(t, "Routes[0].Path", c.Routes[0].Path, "/")
		eq(t, "Routes[0].Line", c.Routes[0].Line, 3)
		eq(t, "len(Upstreams)", len(c.Upstreams), 1)
		eq(t, "implicit upstream", *c.Upstreams["ws1.example.com:10080"], *config.Quick(":80", "ws1.example.com:10080").Upstreams["ws1.example.com:10080"])
	}},
	{"rewrite compiled", y(
		`listen: [{addr: ":80"}]`,
		`routes:`,
		`  - upstream: "127.0.0.1:1"`,
		`    rewrite: {regex: "^/api/(?P<rest>.*)", to: "/v2/${rest}"}`,
	), func(t *testing.T, c *config.Config) {
		rw := c.Routes[0].Rewrite
		got := string(rw.Re.ExpandString(nil, rw.To, "/api/x", rw.Re.FindStringSubmatchIndex("/api/x")))
		eq(t, "expanded /api/x", got, "/v2/x")
	}},
	{"merge keys", y(
		`listen: [{addr: ":80"}]`,
		`upstreams: {chat: {servers: [{addr: "h:1"}]}}`,
		`x-route: &route {upstream: chat, strip_prefix: true}`,
		`routes:`,
		`  - {<<: *route, path: /a}`,
		`  - {path: /b, <<: *route, strip_prefix: false}`,
	), func(t *testing.T, c *config.Config) {
		eq(t, "Routes[0]", c.Routes[0], config.Route{Path: "/a", StripPrefix: true, Upstream: "chat", Line: 5})
		eq(t, "Routes[1]", c.Routes[1], config.Route{Path: "/b", StripPrefix: false, Upstream: "chat", Line: 6})
	}},
	{"anchors and nulls", y(
		`listen: [{addr: ":80", tls: ~}]`,
		`upstreams:`,
		`  a: &pool {balance: least_conn, servers: [{addr: "h:1"}, {addr: "h:2"}]}`,
		`  b: *pool`,
		`timeouts:`,
		`limits: {max_header_bytes: ~}`,
	), func(t *testing.T, c *config.Config) {
		eq(t, "Listen[0].TLS", c.Listen[0].TLS, (*config.TLS)(nil))
		eq(t, "b.Balance", c.Upstreams["b"].Balance, config.BalanceLeastConn)
		eq(t, "b.Name", c.Upstreams["b"].Name, "b")
		eq(t, "Timeouts.Idle", c.Timeouts.Idle.String(), "1h0m0s")
		eq(t, "MaxHeaderBytes", c.Limits.MaxHeaderBytes, 16384)
	}},
	{"socket buffers", y(
		"listen:",
		`  - {addr: ":80", rcvbuf: 64K, sndbuf: 4m}`,
		`  - {addr: ":81", rcvbuf: 8192, notsent_lowat: 16k}`,
		"upstreams:",
		"  a: {servers: [{addr: \"h:1\"}], rcvbuf: \"1024m\", sndbuf: 4096}",
		"  b: {servers: [{addr: \"h:2\"}], notsent_lowat: 0}",
		"routes: [{path: /, upstream: a}, {path: /b, upstream: b}]",
	), func(t *testing.T, c *config.Config) {
		eq(t, "listen[0].rcvbuf", c.Listen[0].RcvBuf, 64<<10)
		eq(t, "listen[0].sndbuf", c.Listen[0].SndBuf, 4<<20)
		eq(t, "listen[1].rcvbuf", c.Listen[1].RcvBuf, 8192)
		eq(t, "listen[1].sndbuf", c.Listen[1].SndBuf, 0)
		eq(t, "a.rcvbuf (the largest size)", c.Upstreams["a"].RcvBuf, 1<<30)
		eq(t, "a.sndbuf", c.Upstreams["a"].SndBuf, 4096)
		eq(t, "listen[0] notsent_lowat (default)", c.Listen[0].Lowat(), config.DefaultNotSentLowat)
		eq(t, "listen[1] notsent_lowat", c.Listen[1].Lowat(), 16<<10)
		eq(t, "a notsent_lowat (default)", c.Upstreams["a"].Lowat(), 128<<10)
		eq(t, "b notsent_lowat (off)", c.Upstreams["b"].Lowat(), 0)
	}},
}

func TestParse(t *testing.T) {
	for _, tc := range valueCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("x.yaml", []byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tc.check(t, c)
			if err := c.Validate(); err != nil {
				t.Errorf("second Validate: %v", err)
			}
		})
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v; want %+v", what, got, want)
	}
}

func TestQuick(t *testing.T) {
	c := config.Quick("127.0.0.1:8080", "127.0.0.1:10081")
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	eq(t, "Listen", c.Listen, []config.Listener{{Addr: "127.0.0.1:8080"}})
	eq(t, "Routes", c.Routes, []config.Route{{Path: "/", Upstream: "127.0.0.1:10081"}})
	u := c.Upstreams["127.0.0.1:10081"]
	if u == nil {
		t.Fatalf("Upstreams = %v; want an entry 127.0.0.1:10081", c.Upstreams)
	}
	eq(t, "Name", u.Name, "127.0.0.1:10081")
	eq(t, "Balance", u.Balance, config.BalanceRoundRobin)
	eq(t, "Servers", u.Servers, []config.Server{{Addr: "127.0.0.1:10081", Weight: 1}})
	eq(t, "Timeouts.Idle", c.Timeouts.Idle.String(), "1h0m0s")
	eq(t, "Limits.MaxPendingBytes", c.Limits.MaxPendingBytes, 65536)

	err := config.Quick("8080", "backend").Validate()
	want := `listen[0].addr: want IP:port, got "8080" (write ":8080" for all interfaces)` + "\n" +
		`routes[0].upstream: unknown upstream "backend"`
	eq(t, "Quick(bad).Validate()", errString(err), want)
}

func TestLoad(t *testing.T) {
	_, err := config.Load("testdata/does-not-exist.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v; want fs.ErrNotExist", err)
	}
	eq(t, "error", err.Error(), "open testdata/does-not-exist.yaml: no such file or directory")
}

func TestExamples(t *testing.T) {
	t.Run("seed", func(t *testing.T) {
		c, err := config.Load("../examples/seed.yaml")
		if err != nil {
			t.Fatal(err)
		}
		eq(t, "Listen", c.Listen, []config.Listener{{Addr: "127.0.0.1:8080"}})
		wp := c.Upstreams["webpush"]
		eq(t, "webpush.Balance", wp.Balance, config.BalanceIPHash)
		eq(t, "webpush.Servers", wp.Servers, []config.Server{
			{Addr: "127.0.0.1:10081", Weight: 1}, {Addr: "127.0.0.1:10082", Weight: 1}, {Addr: "127.0.0.1:10083", Weight: 1},
		})
		eq(t, "len(Routes)", len(c.Routes), 2)
		r := c.Routes[0]
		eq(t, "Routes[0].Path", r.Path, "/services/myservice")
		eq(t, "Routes[0].Upstream", r.Upstream, "webpush")
		p := "/services/myservice/socket.io/?EIO=4"
		got := string(r.Rewrite.Re.ExpandString(nil, r.Rewrite.To, p, r.Rewrite.Re.FindStringSubmatchIndex(p)))
		eq(t, "rewritten", got, "/socket.io/?EIO=4")
		eq(t, "Routes[1]", [2]string{c.Routes[1].Path, c.Routes[1].Upstream}, [2]string{"/", "127.0.0.1:10081"})
		eq(t, "implicit upstream", c.Upstreams["127.0.0.1:10081"].Servers, []config.Server{{Addr: "127.0.0.1:10081", Weight: 1}})
	})
	t.Run("minimal", func(t *testing.T) {
		c, err := config.Load("../examples/minimal.yaml")
		if err != nil {
			t.Fatal(err)
		}
		q := config.Quick("127.0.0.1:8080", "127.0.0.1:10081")
		eq(t, "Listen", c.Listen, q.Listen)
		eq(t, "Upstreams", c.Upstreams, q.Upstreams)
		eq(t, "Timeouts", c.Timeouts, q.Timeouts)
	})
}

// TestAutoLoops: one process runs a loop per CPU; workers share the CPUs,
// rounding up, with at least one loop each.
func TestAutoLoops(t *testing.T) {
	n := runtime.NumCPU()
	for _, tc := range []struct {
		workers, want int
	}{
		{0, n},
		{1, n},
		{2, (n + 1) / 2},
		{n, 1},
		{4 * n, 1},
	} {
		if got := config.AutoLoops(tc.workers); got != tc.want {
			t.Errorf("AutoLoops(%d) = %d; want %d (%d CPUs)", tc.workers, got, tc.want, n)
		}
	}
}

// TestPath: a relative path is relative to the configuration file's
// directory; absolute and empty paths, and any path of a configuration
// built in code, are kept.
func TestPath(t *testing.T) {
	tests := []struct{ file, p, want string }{
		{"/etc/wsproxy/wsproxy.yaml", "certs/a.pem", "/etc/wsproxy/certs/a.pem"},
		{"wsproxy.yaml", "a.pem", "a.pem"},
		{"conf/wsproxy.yaml", "../a.pem", "a.pem"},
		{"/etc/wsproxy/wsproxy.yaml", "/srv/a.pem", "/srv/a.pem"},
		{"/etc/wsproxy/wsproxy.yaml", "", ""},
		{"", "certs/a.pem", "certs/a.pem"},
	}
	for _, tt := range tests {
		if got := (&config.Config{File: tt.file}).Path(tt.p); got != tt.want {
			t.Errorf("Config{File: %q}.Path(%q) = %q; want %q", tt.file, tt.p, got, tt.want)
		}
	}
}

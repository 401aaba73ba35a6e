package config_test

import (
	"strings"
	"testing"

	"wsproxy/config"
)

// y joins lines with newlines, so that argument N is line N of the file.
func y(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

// head is a valid listener and upstream for cases about other sections;
// routes start on line 6.
func head(routes ...string) string {
	return y(append([]string{
		`listen: [{addr: "127.0.0.1:8080"}]`,
		`upstreams:`,
		`  webpush:`,
		`    servers: [{addr: "127.0.0.1:10081"}]`,
		`routes:`,
	}, routes...)...)
}

// errorCases are files Parse must reject with exactly these errors, each a
// substring of one line of the error, in order.
var errorCases = []struct {
	name string
	in   string
	want []string
}{
	// Shape of the document.
	{"empty file", "", []string{`x.yaml:1: listen: no listeners`}},
	{"only comments", y("# nothing", "# here"), []string{`x.yaml:1: listen: no listeners`}},
	{"syntax", y("listen:", "  - addr: x", "  addr: y"), []string{`x.yaml:3: did not find expected '-' indicator`}},
	{"syntax on line 1", y("listen: [{addr: :80}]"), []string{`x.yaml:1: did not find expected node content`}},
	{"syntax in flow", y("loops: 1", "listen: [{addr: :80}]"), []string{`x.yaml:2: did not find expected node content`}},
	{"unclosed quote", y("loops: 1", `listen: [{addr: "127.0.0.1:80}]`, "routes: []"), []string{`x.yaml:2: found unexpected end of stream`}},
	{"syntax in second document", y("loops: 1", "---", "a: [", "b: 1"), []string{`x.yaml:4: did not find expected ',' or ']'`}},
	{"tab indent", y("listen:", "\t- addr: x"), []string{`x.yaml:2: tab at column 1: YAML does not allow tabs for indentation; indent with spaces`}},
	{"tab after a dash", y("listen:", "  -\taddr: x"), []string{`x.yaml:2: tab at column 4: YAML does not allow tabs for indentation`}},
	{"tab in nested indent", y(`listen: [{addr: ":80"}]`, "upstreams:", "  a:", "    servers:", "\t- addr: \"h:1\""), []string{`x.yaml:5: tab at column 1: YAML does not allow tabs`}},
	{"tab after spaces", y("listen:", "  - addr: x", "\tloops: 1"), []string{`x.yaml:3: tab at column 1: YAML does not allow tabs for indentation`}},
	{"tab on a blank line", y(`listen: [{addr: ":80"}]`, "\t"), []string{`x.yaml:2: tab at column 1: YAML does not allow tabs`}},
	{"two documents", y("loops: 1", "---", "loops: 2"), []string{`x.yaml:2: only one YAML document is allowed`}},
	{"top level list", y("- a", "- b"), []string{`x.yaml:1: expected a mapping, got a list`}},
	{"unknown field with hint", y("listen:", "  - adress: :8080"),
		[]string{`x.yaml:2: listen[0].adress: unknown field (did you mean addr?)`}},
	{"unknown top-level field", y(`listen: [{addr: ":80"}]`, "timeout: {idle: 1h}", "colour: blue"),
		[]string{`x.yaml:2: timeout: unknown field (did you mean timeouts?)`, `x.yaml:3: colour: unknown field`}},
	{"unknown nested field", y(`listen: [{addr: ":80"}]`, "timeouts:", "  idle_timeout: 1h"),
		[]string{`x.yaml:3: timeouts.idle_timeout: unknown field (did you mean idle?)`}},
	{"repeated key", y("loops: 1", `listen: [{addr: ":80"}]`, "loops: 2"),
		[]string{`x.yaml:3: loops: repeated key (first at line 1)`}},
	{"wrong kinds", y("listen: 127.0.0.1:80", "loops: many", "routes: [{strip_prefix: yes}]"), []string{
		`x.yaml:1: listen: expected a list, got "127.0.0.1:80"`,
		`x.yaml:2: loops: expected an integer, got "many"`,
		`x.yaml:3: routes[0].strip_prefix: expected true or false, got "yes"`}},
	{"bare duration", y(`listen: [{addr: ":80"}]`, "timeouts:", "  idle: 30"),
		[]string{`x.yaml:3: timeouts.idle: duration 30 has no unit (write "30s" or "30ms")`}},
	{"socket buffer sizes", y("listen:", `  - {addr: ":80", rcvbuf: 64q}`, `  - {addr: ":81", sndbuf: 1k, rcvbuf: [1]}`,
		"upstreams:", "  a:", `    servers: [{addr: "h:1"}]`, "    rcvbuf: 1025m", "    sndbuf: -5", "routes: [{path: /, upstream: a}]"), []string{
		`x.yaml:2: listen[0].rcvbuf: invalid size "64q" (write bytes, or a number with k or m: 65536, "64k", "4m"; at most 1024m)`,
		`x.yaml:3: listen[1].rcvbuf: expected a size such as 65536 or "64k", got a list`,
		`x.yaml:7: upstreams.a.rcvbuf: invalid size "1025m"`,
		`x.yaml:8: upstreams.a.sndbuf: invalid size "-5"`}},
	{"socket buffers too small", y("listen:", `  - {addr: ":80", rcvbuf: 1k, sndbuf: 64m}`,
		"upstreams:", "  a:", `    servers: [{addr: "h:1"}]`, "    sndbuf: 4095", "routes: [{path: /, upstream: a}]"), []string{
		`x.yaml:2: listen[0].rcvbuf: must be at least 4096 bytes (or left out for the kernel's autotuning), got 1024`,
		`x.yaml:6: upstreams.a.sndbuf: must be at least 4096 bytes`}},
	{"notsent_lowat too small", y(`listen: [{addr: ":80", notsent_lowat: 100}]`, "routes: [{path: /, upstream: \"h:1\"}]"),
		[]string{`x.yaml:1: listen[0].notsent_lowat: must be at least 4096 bytes, or 0 to turn it off, got 100`}},
	{"bad duration", y(`listen: [{addr: ":80"}]`, "timeouts: {connect: 5 sec}"),
		[]string{`x.yaml:2: timeouts.connect: invalid duration "5 sec"`}},

	// Listeners.
	{"listener addresses", y(
		"listen:",
		"  - addr: 8080",
		"  - addr: localhost:8080",
		"  - addr: 127.0.0.1:http",
		"  - {}",
		"  - addr: 127.0.0.1:9000",
		"  - addr: 127.0.0.1:9000",
		"  - addr: 127.0.0.1:0",
		"  - addr: 127.0.0.1:0",
	), []string{
		`x.yaml:2: listen[0].addr: want IP:port, got "8080" (write ":8080" for all interfaces)`,
		`x.yaml:3: listen[1].addr: host "localhost" in "localhost:8080" must be an IP address`,
		`x.yaml:4: listen[2].addr: port "http" in "127.0.0.1:http" is not a number`,
		`x.yaml:5: listen[3].addr: missing`,
		`x.yaml:7: listen[5].addr: duplicate listener "127.0.0.1:9000" (first at line 6)`}},
	{"tls", y(
		"listen:",
		"  - addr: :443",
		"    tls: {cert: a.crt, min_version: 1.1}",
		"  - addr: :444",
		"    tls: {min_version: TLSv1.2}",
		"  - addr: :445",
		"    tls:",
		"      certificates: [{cert: a.crt, key: a.key}, {key: b.key}]",
	), []string{
		`x.yaml:3: listen[0].tls.min_version: TLS 1.1 and older are not supported`,
		`x.yaml:3: listen[0].tls.key: missing (cert is set)`,
		`x.yaml:5: listen[1].tls.min_version: unknown TLS version "TLSv1.2" (want "1.2" or "1.3")`,
		`x.yaml:5: listen[1].tls: no certificate (set cert and key, or certificates)`,
		`x.yaml:8: listen[2].tls.certificates[1].cert: missing (key is set)`}},

	// Upstreams.
	{"unknown upstream", head(
		`  - {path: /a, upstream: webpush}`,
		`  - {path: /, upstream: webpsh}`,
	), []string{`x.yaml:7: routes[1].upstream: unknown upstream "webpsh" (did you mean webpush?)`}},
	{"servers", y(
		`listen: [{addr: ":80"}]`,
		`upstreams:`,
		`  a:`,
		`    servers:`,
		`      - {addr: "ws1.example.com:10080", weight: -1, max_conns: -5}`,
		`      - {addr: "ws1.example.com:10080"}`,
		`      - {addr: "ws2.example.com"}`,
		`      - {addr: "ws3.example.com:0"}`,
		`      - {addr: "ws_3!:1"}`,
		`  b:`,
		`    servers: []`,
		`  c:`,
		`  d:`,
		`    servers: [{addr: "h:1", backup: true}]`,
		`  "e:f": {servers: [{addr: "h:1"}]}`,
	), []string{
		`x.yaml:5: upstreams.a.servers[0].weight: must be at least 1, got -1`,
		`x.yaml:5: upstreams.a.servers[0].max_conns: must not be negative (0 means unlimited), got -5`,
		`x.yaml:6: upstreams.a.servers[1].addr: duplicate server "ws1.example.com:10080" (first at line 5)`,
		`x.yaml:7: upstreams.a.servers[2].addr: want host:port, got "ws2.example.com"`,
		`x.yaml:8: upstreams.a.servers[3].addr: port 0 in "ws3.example.com:0" cannot be dialled`,
		`x.yaml:9: upstreams.a.servers[4].addr: invalid host "ws_3!" in "ws_3!:1"`,
		`x.yaml:11: upstreams.b.servers: no servers`,
		`x.yaml:12: upstreams.c.servers: no servers`,
		`x.yaml:14: upstreams.d.servers: every server is a backup`,
		`x.yaml:15: upstreams.e:f: invalid upstream name "e:f"`}},
	{"balance", y(
		`listen: [{addr: ":80"}]`,
		`upstreams:`,
		`  a: {balance: roundrobin, servers: [{addr: "h:1"}]}`,
		`  b:`,
		`    balance: hash`,
		`    servers: [{addr: "h:1"}]`,
		`  c: {balance: hash, hash_key: "header:", servers: [{addr: "h:1"}]}`,
		`  d: {balance: hash, hash_key: "body:x", servers: [{addr: "h:1"}]}`,
		`  e: {balance: ip_hash, hash_key: "ip", servers: [{addr: "h:1"}]}`,
		`  f: {balance: cookie, hash_key: "cookie:SERVERID", cookie: {secret: "0123456789abcdef"}, servers: [{addr: "h:1"}]}`,
		`  g: {balance: hash, hash_key: "query:sid", servers: [{addr: "h:1"}]}`,
	), []string{
		`x.yaml:3: upstreams.a.balance: unknown policy "roundrobin" (want round_robin, least_conn, ip_hash, hash, cookie or sid) (did you mean round_robin?)`,
		`x.yaml:5: upstreams.b.hash_key: required for balance: hash`,
		`x.yaml:7: upstreams.c.hash_key: invalid header name "" in "header:"`,
		`x.yaml:8: upstreams.d.hash_key: invalid key "body:x" (want header:NAME, cookie:NAME, query:NAME or ip)`,
		`x.yaml:9: upstreams.e.hash_key: has no effect with balance: ip_hash`}},
	{"on_remove", y(
		`listen: [{addr: ":80"}]`,
		`upstreams:`,
		`  a: {on_remove: drop, servers: [{addr: "h:1"}]}`,
		`  b: {on_remove: close, remove_window: -1s, servers: [{addr: "h:1"}]}`,
		`  c: {on_remove: keep, remove_window: 5s, servers: [{addr: "h:1"}]}`,
	), []string{
		`x.yaml:3: upstreams.a.on_remove: unknown value "drop" (want keep or close)`,
		`x.yaml:4: upstreams.b.remove_window: must not be negative`}},

	// Routes.
	{"route paths and upstreams", head(
		`  - {path: api, upstream: webpush}`,
		`  - {path: "/a?b", upstream: webpush}`,
		`  - {path: /b}`,
		`  - {path: /c, upstream: "127.0.0.1:http"}`,
	), []string{
		`x.yaml:6: routes[0].path: must start with "/", got "api"`,
		`x.yaml:7: routes[1].path: must be a plain path prefix without query`,
		`x.yaml:8: routes[2].upstream: missing`,
		`x.yaml:9: routes[3].upstream: port "http" in "127.0.0.1:http" is not a number`}},
	{"route paths not normal", head(
		`  - {path: /a//b, upstream: webpush}`,
		`  - {path: /a/../b, upstream: webpush}`,
		`  - {path: "/a/%2e", upstream: webpush}`,
		`  - {path: "/a\\b", upstream: webpush}`,
		`  - {path: "/caf%c3%a9", upstream: webpush}`,
		`  - {path: "/a/..;x/", upstream: webpush}`,
		`  - {path: "/caf%C3%A9/a%3Bb/", upstream: webpush}`,
	), []string{
		`x.yaml:6: routes[0].path: must be in normal form`,
		`x.yaml:7: routes[1].path: must be in normal form`,
		`x.yaml:8: routes[2].path: must be in normal form`,
		`x.yaml:9: routes[3].path: must be in normal form`,
		`x.yaml:10: routes[4].path: must be in normal form`,
		`x.yaml:11: routes[5].path: must be in normal form`}},
	{"route hosts", head(
		`  - {host: "ws.example.com:443", upstream: webpush}`,
		`  - {host: "foo.*.example.com", upstream: webpush}`,
		`  - {host: "*", upstream: webpush}`,
		`  - {host: "[::1]:80", upstream: webpush}`,
		`  - {host: "bad host", upstream: webpush}`,
		`  - {host: "*.Example.com", upstream: webpush}`,
		`  - {host: "[::1]", upstream: webpush}`,
	), []string{
		`x.yaml:6: routes[0].host: must not include a port (write "ws.example.com")`,
		`x.yaml:7: routes[1].host: invalid wildcard "foo.*.example.com"`,
		`x.yaml:8: routes[2].host: "*" matches nothing special; leave host out`,
		`x.yaml:9: routes[3].host: must not include a port (write "[::1]")`,
		`x.yaml:10: routes[4].host: invalid host "bad host"`}},
	{"duplicate routes", head(
		`  - {path: /, upstream: webpush}`,
		`  - {host: a.example.com, path: /, upstream: webpush}`,
		`  - {upstream: webpush}`,
		`  - {host: A.example.com, path: /, upstream: webpush}`,
	), []string{
		`x.yaml:8: routes[2].path: duplicate route for path "/" (first at line 6)`,
		`x.yaml:9: routes[3].path: duplicate route for host "a.example.com" and path "/" (first at line 7)`}},
	{"rewrites", head(
		`  - path: /a`,
		`    strip_prefix: true`,
		`    upstream: webpush`,
		`    rewrite: {regex: "^/a/(.*)", to: "/$1"}`,
		`  - {path: /b, upstream: webpush, rewrite: {regex: "^/b/(.*", to: "/$1"}}`,
		`  - {path: /c, upstream: webpush, rewrite: {regex: "^/c/(.*)", to: "/$1x"}}`,
		`  - {path: /d, upstream: webpush, rewrite: {regex: "^/d/(.*)", to: "/$2"}}`,
		`  - {path: /e, upstream: webpush, rewrite: {regex: "^/e/(?P<rest>.*)", to: "/${rest}/$$/${1}x"}}`,
		`  - {path: /f, upstream: webpush, rewrite: {to: "x"}}`,
	), []string{
		`x.yaml:9: routes[0].rewrite: cannot be combined with strip_prefix`,
		"x.yaml:10: routes[1].rewrite.regex: invalid: error parsing regexp: missing closing ): `^/b/(.*`",
		`x.yaml:11: routes[2].rewrite.to: "$1x" means the group named "1x", which does not exist (write "${1}x")`,
		`x.yaml:12: routes[3].rewrite.to: refers to $2 but the regex has 1 group(s)`,
		`x.yaml:14: routes[5].rewrite.regex: missing`,
		`x.yaml:14: routes[5].rewrite.to: must start with "/" or a group such as $1, got "x"`}},

	// Globals.
	{"globals", y(
		`listen: [{addr: ":80"}]`,
		`loops: -1`,
		`workers: -2`,
		`timeouts: {connect: -1s}`,
		`limits:`,
		`  max_header_bytes: 100`,
		`  max_pending_bytes: 1073741824`,
		`  max_headers: 10001`,
		`drain_timeout: -5s`,
	), []string{
		`x.yaml:2: loops: must not be negative (0 means one per CPU, shared among workers), got -1`,
		`x.yaml:3: workers: must not be negative (0 means 1), got -2`,
		`x.yaml:4: timeouts.connect: must not be negative, got -1s`,
		`x.yaml:6: limits.max_header_bytes: must be between 1024 and 1048576 bytes, got 100`,
		`x.yaml:7: limits.max_pending_bytes: must be between 1024 and 67108864 bytes, got 1073741824`,
		`x.yaml:8: limits.max_headers: must be between 1 and 10000, got 10001`,
		`x.yaml:9: drain_timeout: must not be negative, got -5s`}},
	{"connect timeout past an hour", y(
		`listen: [{addr: ":80"}]`,
		`timeouts: {connect: 61m}`,
	), []string{`x.yaml:2: timeouts.connect: must be at most 1h0m0s (a connect's start is kept to the microsecond in 32 bits), got 1h1m0s`}},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("x.yaml", []byte(tc.in))
			if err == nil {
				t.Fatalf("Parse = %+v, nil; want errors %q", c, tc.want)
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tc.want) {
				t.Errorf("got %d errors; want %d:\n%s", len(got), len(tc.want), err)
			}
			for i := range min(len(got), len(tc.want)) {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got  %s\n want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestValidateInCode checks a configuration built without a file: errors
// carry the field path only.
func TestValidateInCode(t *testing.T) {
	c := &config.Config{
		Listen: []config.Listener{{Addr: "127.0.0.1:8080"}},
		Routes: []config.Route{{Path: "/", Upstream: "nowhere"}},
	}
	err := c.Validate()
	if got, want := errString(err), `routes[0].upstream: unknown upstream "nowhere"`; got != want {
		t.Errorf("Validate() = %s; want %s", got, want)
	}
	c.File = "built.yaml"
	if got, want := errString(c.Validate()), `built.yaml: routes[0].upstream: unknown upstream "nowhere"`; got != want {
		t.Errorf("with File: Validate() = %s; want %s", got, want)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func FuzzParse(f *testing.F) {
	for _, tc := range errorCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range valueCases {
		f.Add([]byte(tc.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("f.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.yaml") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("second Validate of a valid config: %v", err)
		}
	})
}

// TestAliasBomb checks that a small file cannot expand, through aliases,
// into a tree too large to decode.
func TestAliasBomb(t *testing.T) {
	certs := `&p {cert: a, key: b}` + strings.Repeat(", *p", 999)
	listeners := `&x {addr: ":1", tls: {certificates: [` + certs + `]}}` + strings.Repeat(", *x", 999)
	_, err := config.Parse("x.yaml", []byte("listen: ["+listeners+"]\n"))
	if want := "document too large once aliases are expanded"; !strings.Contains(errString(err), want) {
		t.Errorf("Parse = %v; want %q", err, want)
	}
}

// TestOnRemoveDefaults: an upstream without on_remove keeps a removed
// server's tunnels, with the window /drain uses.
func TestOnRemoveDefaults(t *testing.T) {
	c, err := config.Parse("x.yaml", []byte(head(`  - {path: /, upstream: webpush}`)))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Upstreams["webpush"]
	if u.OnRemove != config.OnRemoveKeep || u.RemoveWindow != config.Duration(config.DefaultRemoveWindow) {
		t.Errorf("on_remove %q, remove_window %v; want keep, %v", u.OnRemove, u.RemoveWindow, config.DefaultRemoveWindow)
	}
}

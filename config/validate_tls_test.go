package config_test

import (
	"crypto/tls"
	"slices"
	"testing"
	"time"

	"wsproxy/config"
)

// The TLS cases join the shared tables, so TestParseErrors, TestParse and
// FuzzParse cover them.
func init() {
	errorCases = append(errorCases, tlsErrorCases...)
	valueCases = append(valueCases, tlsValueCases...)
}

var tlsErrorCases = []struct {
	name string
	in   string
	want []string
}{
	{"tls ciphers", y(
		"listen:",
		"  - addr: :443",
		"    tls:",
		"      cert: a.crt",
		"      key: a.key",
		"      ciphers:",
		"        - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"        - tls_ecdhe_rsa_with_aes_256_gcm_sha384",
		"        - ECDHE-RSA-AES128-GCM-SHA256",
		"        - TLS_RSA_WITH_RC4_128_SHA",
		"        - TLS_AES_128_GCM_SHA256",
		"  - addr: :444",
		"    tls: {cert: a.crt, key: a.key, min_version: \"1.3\", ciphers: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]}",
	), []string{
		`x.yaml:8: listen[0].tls.ciphers[1]: unknown TLS 1.2 cipher suite "tls_ecdhe_rsa_with_aes_256_gcm_sha384" (did you mean TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384?)`,
		`x.yaml:9: listen[0].tls.ciphers[2]: unknown TLS 1.2 cipher suite "ECDHE-RSA-AES128-GCM-SHA256" (want a Go name`,
		`x.yaml:10: listen[0].tls.ciphers[3]: cipher suite TLS_RSA_WITH_RC4_128_SHA is insecure and not supported`,
		`x.yaml:11: listen[0].tls.ciphers[4]: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite; TLS 1.3 suites are not configurable`,
		`x.yaml:13: listen[1].tls.ciphers: has no effect with min_version "1.3"`}},
	{"tls curves", y(
		"listen:",
		"  - addr: :443",
		"    tls:",
		"      cert: a.crt",
		"      key: a.key",
		"      curves: [X25519, prime256v1, P-521, X448, x25519]",
	), []string{
		`x.yaml:6: listen[0].tls.curves[3]: unknown key exchange "X448" (want X25519MLKEM768, X25519, P256, P384 or P521)`,
		`x.yaml:6: listen[0].tls.curves[4]: x25519 is listed twice`}},
	{"upstream tls options", y(
		`listen: [{addr: ":80"}]`,
		`upstreams:`,
		`  b:`,
		`    servers:`,
		`      - {addr: "10.0.0.1:443", ca_file: ca.pem, server_name: b.example, insecure_skip_verify: true}`,
		`      - {addr: "10.0.0.2:443", tls: true, ca_file: ca.pem, insecure_skip_verify: true}`,
		`      - {addr: "10.0.0.3:443", tls: yes}`,
	), []string{
		`x.yaml:7: upstreams.b.servers[2].tls: expected true or false, got "yes"`}},
	{"upstream tls options without tls", y(
		`listen: [{addr: ":80"}]`,
		`upstreams:`,
		`  b:`,
		`    servers:`,
		`      - {addr: "10.0.0.1:443", ca_file: ca.pem, server_name: b.example, insecure_skip_verify: true}`,
		`      - {addr: "10.0.0.2:443", tls: true, ca_file: ca.pem, insecure_skip_verify: true}`,
	), []string{
		`x.yaml:5: upstreams.b.servers[0].ca_file: has no effect without tls: true`,
		`x.yaml:5: upstreams.b.servers[0].server_name: has no effect without tls: true`,
		`x.yaml:5: upstreams.b.servers[0].insecure_skip_verify: has no effect without tls: true`,
		`x.yaml:6: upstreams.b.servers[1].ca_file: has no effect with insecure_skip_verify: true`}},
	{"session tickets", y(
		"listen:",
		"  - addr: :443",
		"    tls:",
		"      cert: a.crt",
		"      key: a.key",
		"      session_tickets: false",
		"      session_ticket_keys: [t.key]",
		"      session_ticket_lifetime: 2h",
		"  - addr: :444",
		"    tls: {cert: a.crt, key: a.key, session_ticket_keys: [t.key, \"\"], session_ticket_lifetime: 2h}",
		"  - addr: :445",
		"    tls: {cert: a.crt, key: a.key, session_ticket_lifetime: 30s}",
		"  - addr: :446",
		"    tls: {cert: a.crt, key: a.key, session_ticket_lifetime: 169h}",
	), []string{
		`x.yaml:7: listen[0].tls.session_ticket_keys: has no effect with session_tickets: false`,
		`x.yaml:8: listen[0].tls.session_ticket_lifetime: has no effect with session_tickets: false`,
		`x.yaml:10: listen[1].tls.session_ticket_lifetime: has no effect with session_ticket_keys (a ticket resumes while its key is in one of the files`,
		`x.yaml:10: listen[1].tls.session_ticket_keys[1]: empty path (want a file of 80 or 48 random bytes)`,
		`x.yaml:12: listen[2].tls.session_ticket_lifetime: 30s is out of range (want 1m to 168h)`,
		`x.yaml:14: listen[3].tls.session_ticket_lifetime: 169h0m0s is out of range (want 1m to 168h)`}},
	{"session tickets syntax", y(
		"listen:",
		"  - addr: :446",
		"    tls: {cert: a.crt, key: a.key, session_tickets: no, session_ticket_lifetime: 3600}",
		"  - addr: :447",
		"    tls: {cert: a.crt, key: a.key, session_ticket_keys: t.key}",
	), []string{
		`x.yaml:3: listen[0].tls.session_tickets: expected true or false, got "no"`,
		`x.yaml:3: listen[0].tls.session_ticket_lifetime: duration 3600 has no unit`,
		`x.yaml:5: listen[1].tls.session_ticket_keys: expected a list, got "t.key"`}},
}

var tlsValueCases = []struct {
	name  string
	in    string
	check func(t *testing.T, c *config.Config)
}{
	{"tls ciphers and upstream tls", y(
		`listen:`,
		`  - addr: ":443"`,
		`    tls:`,
		`      cert: a.crt`,
		`      key: a.key`,
		`      ciphers: [TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]`,
		`upstreams:`,
		`  b:`,
		`    servers: [{addr: "b.example:443", tls: true, ca_file: ca.pem, server_name: api.example}]`,
		`routes: [{upstream: b}]`,
	), func(t *testing.T, c *config.Config) {
		eq(t, "CipherSuiteIDs", c.Listen[0].TLS.CipherSuiteIDs(),
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256})
		s := c.Upstreams["b"].Servers[0]
		eq(t, "Server TLS", []any{s.TLS, s.CAFile, s.ServerName, s.InsecureSkipVerify}, []any{true, "ca.pem", "api.example", false})
	}},
	{"tls curves, OpenSSL spellings too", y(
		`listen:`,
		`  - addr: ":443"`,
		`    tls: {cert: a.crt, key: a.key, curves: [x25519, prime256v1, secp384r1, X25519MLKEM768]}`,
		`  - addr: ":444"`,
		`    tls: {cert: a.crt, key: a.key}`,
	), func(t *testing.T, c *config.Config) {
		eq(t, "CurveIDs", c.Listen[0].TLS.CurveIDs(), []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384, tls.X25519MLKEM768})
		eq(t, "CurveIDs default", c.Listen[1].TLS.CurveIDs(), []tls.CurveID(nil))
	}},
	{"session tickets", y(
		`listen:`,
		`  - addr: ":443"`,
		`    tls: {cert: a.crt, key: a.key}`,
		`  - addr: ":444"`,
		`    tls: {cert: a.crt, key: a.key, session_tickets: false}`,
		`  - addr: ":445"`,
		`    tls: {cert: a.crt, key: a.key, session_tickets: true, session_ticket_lifetime: 168h}`,
		`  - addr: ":446"`,
		`    tls:`,
		`      cert: a.crt`,
		`      key: a.key`,
		`      session_ticket_keys:`,
		`        - new.key`,
		`        - old.key`,
		`routes: [{upstream: "10.0.0.1:80"}]`,
	), func(t *testing.T, c *config.Config) {
		var on []bool
		for _, l := range c.Listen {
			on = append(on, l.TLS.TicketsOn())
		}
		eq(t, "TicketsOn", on, []bool{true, false, true, true})
		eq(t, "SessionTicketLifetime", []config.Duration{c.Listen[0].TLS.SessionTicketLifetime, c.Listen[2].TLS.SessionTicketLifetime},
			[]config.Duration{0, config.Duration(168 * time.Hour)})
		l := c.Listen[3].TLS
		eq(t, "SessionTicketKeys", []any{l.SessionTicketKeys, l.TicketKeyAt(0), l.TicketKeyAt(1), l.TicketKeyAt(2)},
			[]any{[]string{"new.key", "old.key"}, "x.yaml:13: listen[3].tls.session_ticket_keys[0]",
				"x.yaml:14: listen[3].tls.session_ticket_keys[1]", ""})
	}},
}

// TestCipherNamesAreTLS12 checks that every suite Ciphers accepts can be
// negotiated in TLS 1.2 and none of Go's insecure suites slips in.
func TestCipherNamesAreTLS12(t *testing.T) {
	for _, cs := range tls.CipherSuites() {
		if !slices.Contains(cs.SupportedVersions, tls.VersionTLS12) {
			continue
		}
		c := config.TLS{Ciphers: []string{cs.Name}}
		if got := c.CipherSuiteIDs(); !slices.Equal(got, []uint16{cs.ID}) {
			t.Errorf("CipherSuiteIDs(%s) = %v; want [%#x]", cs.Name, got, cs.ID)
		}
	}
	for _, cs := range tls.InsecureCipherSuites() {
		c := config.TLS{Ciphers: []string{cs.Name}}
		if got := c.CipherSuiteIDs(); got != nil {
			t.Errorf("CipherSuiteIDs(%s) = %v; want nil", cs.Name, got)
		}
	}
}

// TestTLSFileLines: the certificate and key files are read after Parse (by
// core), so Parse records where each is named and Pairs hands that on:
// their errors read "FILE:LINE: listen[0].tls.cert: ...".
func TestTLSFileLines(t *testing.T) {
	in := y(
		`listen:`,
		`  - addr: ":443"`,
		`    tls:`,
		`      cert: a.crt`,
		`      key: a.key`,
		`      certificates:`,
		`        - cert: b.crt`,
		`          key: b.key`,
		`        - {cert: c.crt, key: c.key}`,
		`upstreams:`,
		`  u:`,
		`    servers: [{addr: "h:443", tls: true, ca_file: ca.pem}]`,
		`routes: [{path: /, upstream: u}]`,
	)
	c, err := config.Parse("x.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	pairs := c.Listen[0].TLS.Pairs()
	for _, tc := range []struct {
		name      string
		got, want string
	}{
		{"default cert", pairs[0].CertAt, "x.yaml:4: listen[0].tls.cert"},
		{"default key", pairs[0].KeyAt, "x.yaml:5: listen[0].tls.key"},
		{"block pair cert", pairs[1].CertAt, "x.yaml:7: listen[0].tls.certificates[0].cert"},
		{"block pair key", pairs[1].KeyAt, "x.yaml:8: listen[0].tls.certificates[0].key"},
		{"flow pair key", pairs[2].KeyAt, "x.yaml:9: listen[0].tls.certificates[1].key"},
		{"upstream ca_file", c.At("upstreams.u.servers[0].ca_file"), "x.yaml:12: upstreams.u.servers[0].ca_file"},
		{"a field not written: its parent's line", c.At("listen[0].tls.min_version"), "x.yaml:3: listen[0].tls.min_version"},
		{"built in code", (&config.Config{}).At("listen[0].tls.cert"), "listen[0].tls.cert"},
		{"built in code with a file", (&config.Config{File: "f.yaml"}).At("listen[0].tls.cert"), "f.yaml: listen[0].tls.cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q; want %q", tc.got, tc.want)
			}
		})
	}
	if len(pairs) != 3 || pairs[0].Cert != "a.crt" || pairs[2].Key != "c.key" {
		t.Errorf("Pairs = %+v; want a.crt, b.crt and c.crt with their keys, in that order", pairs)
	}
}

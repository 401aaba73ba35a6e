package config_test

import (
	"crypto/tls"
	"slices"
	"testing"

	"wsproxy/internal/config"
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

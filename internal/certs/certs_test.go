package certs

import (
	"crypto/tls"
	"crypto/x509"
	"testing"
)

// TestSetPick checks SNI selection: exact names, then a wildcard for
// the parent domain, then the first certificate.
func TestSetPick(t *testing.T) {
	def := &tls.Certificate{}
	set := &Set{exact: map[string]*tls.Certificate{}, wild: map[string]*tls.Certificate{}}
	for _, c := range []struct {
		cert  *tls.Certificate
		names []string
	}{
		{def, []string{"ws.example.com"}},
		{&tls.Certificate{}, []string{"*.example.com", "example.com"}},
		{&tls.Certificate{}, []string{"api.example.com", "ws.example.com"}},
	} {
		c.cert.Leaf = &x509.Certificate{DNSNames: c.names}
		set.Add(c.cert)
	}
	tests := []struct {
		sni  string
		want int
	}{
		{"", 0},
		{"ws.example.com", 0},    // first claim wins
		{"WS.Example.COM.", 0},   // case and trailing dot
		{"api.example.com", 2},   // exact beats wildcard
		{"chat.example.com", 1},  // wildcard
		{"example.com", 1},       // exact name of the wildcard certificate
		{"a.b.example.com", 0},   // a wildcard covers one label
		{"other.org", 0},         // default
		{"localhost", 0},         // no dot
		{".example.com", 0},      // empty label
		{"xn--bcher-kva.com", 0}, // unknown IDN
	}
	for _, tc := range tests {
		if got := set.Pick(tc.sni); got != set.certs[tc.want] {
			t.Errorf("pick(%q) = certificate %d; want %d", tc.sni, indexOf(set.certs, got), tc.want)
		}
	}
}

func indexOf(certs []*tls.Certificate, c *tls.Certificate) int {
	for i, x := range certs {
		if x == c {
			return i
		}
	}
	return -1
}

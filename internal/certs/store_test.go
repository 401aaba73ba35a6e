package certs

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"wsproxy/internal/testcert"
)

// TestStoreReload: a reload that works replaces the certificates new
// handshakes get; one that fails keeps the previous ones, and its error
// starts at the configuration line of the file at fault (the key's for a
// key error), or at the listener when the pair has no position.
func TestStoreReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	wild, wildKey := testcert.Write(t, dir, "wild", testcert.Spec{Names: []string{"*.example.com"}})
	_, otherKey := testcert.Write(t, dir, "other", testcert.Spec{Names: []string{"ws.example.com"}})
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pair := func(c, k string) Pair { return Pair{Cert: c, Key: k, CertAt: "x.yaml:4: cert", KeyAt: "x.yaml:5: key"} }
	now := time.Now()
	hello := func(name string) *tls.ClientHelloInfo { return &tls.ClientHelloInfo{ServerName: name} }

	s, err := NewStore("listen[0].tls", []Pair{pair(cert, key)}, now)
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	first, _ := s.GetCertificate(hello("a.example.com"))
	if got := first.Leaf.DNSNames[0]; got != "ws.example.com" {
		t.Fatalf("certificate for a.example.com: %s; want the default ws.example.com", got)
	}

	tests := []struct {
		name    string
		pairs   []Pair
		wantN   int
		wantErr []string // the error starts with the first, contains the rest
		wantFor string   // the certificate a.example.com gets afterwards
	}{
		{"second certificate added", []Pair{pair(cert, key), pair(wild, wildKey)}, 2, nil, "*.example.com"},
		{"broken certificate: previous kept", []Pair{pair(garbage, key)}, 0,
			[]string{"x.yaml:4: cert: ", "certificate " + garbage, "no PEM CERTIFICATE block"}, "*.example.com"},
		{"key error at the key's line", []Pair{pair(cert, otherKey)}, 0,
			[]string{"x.yaml:5: key: ", "key " + otherKey + " does not match certificate " + cert}, "*.example.com"},
		{"no position: the listener", []Pair{{Cert: cert, Key: garbage}}, 0,
			[]string{"listen[0].tls: ", "key " + garbage}, "*.example.com"},
		{"back to one", []Pair{pair(cert, key)}, 1, nil, "ws.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.pairs = tt.pairs
			n, err := s.Reload(now)
			if n != tt.wantN {
				t.Errorf("Reload = %d certificates; want %d", n, tt.wantN)
			}
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("Reload: %v; want no error", err)
			case tt.wantErr != nil && err == nil:
				t.Errorf("Reload succeeded; want an error %q", tt.wantErr)
			case tt.wantErr != nil:
				if !strings.HasPrefix(err.Error(), tt.wantErr[0]) {
					t.Errorf("error %q; want it to start with %q", err, tt.wantErr[0])
				}
				for _, w := range tt.wantErr[1:] {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q; want it to contain %q", err, w)
					}
				}
			}
			c, _ := s.GetCertificate(hello("a.example.com"))
			if got := c.Leaf.DNSNames[0]; got != tt.wantFor {
				t.Errorf("certificate for a.example.com: %s; want %s", got, tt.wantFor)
			}
		})
	}
}

// TestLoadValidity: a leaf is refused outside its validity period, with
// its name and the date in the error.
func TestLoadValidity(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	tests := []struct {
		name string
		spec testcert.Spec
		want string // "" loads
	}{
		{"valid", testcert.Spec{Names: []string{"ok.example.com"}}, ""},
		{"expired", testcert.Spec{Names: []string{"old.example.com"}, NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(-time.Hour)},
			"(old.example.com): expired at "},
		{"not yet valid", testcert.Spec{Names: []string{"new.example.com"}, NotBefore: now.Add(time.Hour), NotAfter: now.Add(48 * time.Hour)},
			"(new.example.com): not valid before "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, key := testcert.Write(t, dir, strings.ReplaceAll(tt.name, " ", "-"), tt.spec)
			c, err := Load(cert, key, now)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Load: %v; want no error", err)
			case tt.want == "" && c.Leaf == nil:
				t.Fatalf("Load: Leaf not set")
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Load: %v; want an error containing %q", err, tt.want)
			}
		})
	}
}

package tlsconf_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wsproxy/config"
	"wsproxy/internal/testcert"
	"wsproxy/internal/tlsconf"
)

// parse makes a configuration of one plain and one TLS listener whose tls
// section gets extra flow-mapping entries (", session_tickets: false").
func parse(t *testing.T, cert, key, extra string) *config.Config {
	t.Helper()
	text := fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}, {addr: "127.0.0.1:0", tls: {cert: %q, key: %q%s}}]
routes: [{path: /, upstream: "127.0.0.1:1"}]
`, cert, key, extra)
	cfg, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// writeKey writes a session-ticket key file of n bytes of fill at path.
func writeKey(t *testing.T, path string, fill byte, n int) string {
	t.Helper()
	if err := os.WriteFile(path, bytes.Repeat([]byte{fill}, n), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestInit: what a tls section makes of its listener's tls.Config, and
// the errors that name the field and the file.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	short := writeKey(t, filepath.Join(dir, "short.key"), 1, 32)
	good := writeKey(t, filepath.Join(dir, "good.key"), 2, 80)
	tests := []struct {
		name, cert, extra string
		minVersion        uint16
		noTickets         bool
		err               string // a part of the error; "" none
	}{
		{name: "defaults", cert: cert, minVersion: tls.VersionTLS12},
		{name: "min_version 1.3", cert: cert, extra: `, min_version: "1.3"`, minVersion: tls.VersionTLS13},
		{name: "session_tickets false", cert: cert, extra: ", session_tickets: false", minVersion: tls.VersionTLS12, noTickets: true},
		{name: "key file", cert: cert, extra: fmt.Sprintf(", session_ticket_keys: [%q]", good), minVersion: tls.VersionTLS12},
		{name: "key file of the wrong size", cert: cert, extra: fmt.Sprintf(", session_ticket_keys: [%q]", short),
			err: "listen[1].tls.session_ticket_keys[0]: " + short + ": 32 bytes; want 80 or 48"},
		{name: "missing certificate", cert: filepath.Join(dir, "none.crt"), err: "listen[1].tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parse(t, tt.cert, key, tt.extra)
			var s tlsconf.Set
			t.Cleanup(s.StopTickets)
			err := s.Init(cfg, []byte("secret"))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Init: %v; want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Init: %v", err)
			}
			if s.Len() != 1 || s.Listener(cfg.Listen[0].TLS) != nil || s.Listener(nil) != nil {
				t.Fatalf("Len %d; want 1 TLS listener, none for the plain one", s.Len())
			}
			tl := s.Listener(cfg.Listen[1].TLS)
			if tl == nil || !strings.HasSuffix(tl.Field, "listen[1].tls") {
				t.Fatalf("Listener: %+v; want listen[1].tls", tl)
			}
			c := tl.Config
			if c.MinVersion != tt.minVersion || c.MaxVersion != tls.VersionTLS13 || c.SessionTicketsDisabled != tt.noTickets ||
				len(c.NextProtos) != 1 || c.NextProtos[0] != "http/1.1" || c.GetCertificate == nil {
				t.Errorf("tls.Config: min %x max %x tickets off %v ALPN %q", c.MinVersion, c.MaxVersion, c.SessionTicketsDisabled, c.NextProtos)
			}
			s.StartTickets()
		})
	}
}

// TestReload: Reload and Load/Adopt read the files again; a file that
// fails is named, and the listener keeps what it had.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	keyFile := writeKey(t, filepath.Join(dir, "ticket.key"), 3, 48)
	cfg := parse(t, cert, key, fmt.Sprintf(", session_ticket_keys: [%q]", keyFile))
	var s tlsconf.Set
	if err := s.Init(cfg, nil); err != nil {
		t.Fatalf("Init: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name    string
		keySize int    // the ticket key file's size before the reload
		err     string // a part of the error; "" none
	}{
		{name: "same files", keySize: 48},
		{name: "key file broken", keySize: 47, err: "47 bytes; want 80 or 48"},
		{name: "key file mended", keySize: 80},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeKey(t, keyFile, 4, tt.keySize)
			err := s.Reload(log)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Reload: %v; want %q", err, tt.err)
			}
			stores, err := s.Load(cfg)
			if err != nil || len(stores) != 1 {
				t.Fatalf("Load: %d stores, %v; want 1", len(stores), err)
			}
			s.Adopt(stores, log)
		})
	}
	if _, err := s.Load(parse(t, filepath.Join(dir, "none.crt"), key, "")); err == nil || !strings.Contains(err.Error(), "listen[1].tls") {
		t.Errorf("Load of a missing certificate: %v; want an error naming listen[1].tls", err)
	}
}

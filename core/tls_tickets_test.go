package core_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testcert"
	"wsproxy/internal/testutil"
)

// ticketProxy starts a proxy with one TLS listener whose tls section gets
// the extra flow-mapping entries (", session_tickets: false"), given
// secret as Options.TicketSecret. It stands for one worker process.
func ticketProxy(t *testing.T, dir, extra string, secret []byte) *core.Server {
	t.Helper()
	cert, key := filepath.Join(dir, "ws.crt"), filepath.Join(dir, "ws.key")
	if _, err := os.Stat(cert); err != nil {
		testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	}
	text := fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0", tls: {cert: %q, key: %q%s}}]
loops: 1
routes: [{path: /, upstream: %q}]
`, cert, key, extra, startEcho(t, "e1").Addr().String())
	cfg, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	srv, err := core.New(cfg, core.Options{Logger: testutil.Logger(t), TicketSecret: secret})
	if err != nil {
		t.Fatalf("core.New: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// resumed makes one request over a new TLS connection to srv and says
// whether the session was resumed. The response is read, and with it the
// TLS 1.3 ticket that comes before it.
func resumed(t *testing.T, srv *core.Server, client *tls.Config) bool {
	t.Helper()
	c, err := dialTLS(t, srv.Addrs()[0].String(), client)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /x HTTP/1.1\r\nHost: ws.example.com\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /x: %s; want 200", resp.Status)
	}
	return c.ConnectionState().DidResume
}

func ticketClient(maxVersion uint16) *tls.Config {
	c := clientTLS("ws.example.com")
	c.MaxVersion = maxVersion
	c.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	return c
}

func writeTicketKey(t *testing.T, path string, fill byte, n int) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Repeat([]byte{fill}, n), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTicketsAcrossServers: two Servers stand for two workers. A session
// begun on the first resumes on the second when they share the ticket
// secret (what a master hands its workers) or a key file, and not
// otherwise.
func TestTicketsAcrossServers(t *testing.T) {
	s1, s2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "ticket.key")
	writeTicketKey(t, keyFile, 7, 80)
	files := fmt.Sprintf(", session_ticket_keys: [%q]", keyFile)
	for _, tc := range []struct {
		name                 string
		extra                string
		secretA, secretB     []byte
		wantSame, wantAcross bool
	}{
		{"same secret", "", s1, s1, true, true},
		{"other secret", "", s1, s2, true, false},
		{"no secret: each Server its own", "", nil, nil, true, false},
		{"same lifetime", ", session_ticket_lifetime: 10m", s1, s1, true, true},
		{"same key file, other secrets", files, s1, s2, true, true},
		{"session_tickets: false", ", session_tickets: false", s1, s1, false, false},
	} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(v), func(t *testing.T) {
				a := ticketProxy(t, dir, tc.extra, tc.secretA)
				b := ticketProxy(t, dir, tc.extra, tc.secretB)
				client := ticketClient(v)
				if resumed(t, a, client) {
					t.Fatal("first connection resumed; want a full handshake")
				}
				if got := resumed(t, a, client); got != tc.wantSame {
					t.Errorf("resumed on the same Server: got %v; want %v", got, tc.wantSame)
				}
				if got := resumed(t, b, client); got != tc.wantAcross {
					t.Errorf("resumed on the other Server: got %v; want %v", got, tc.wantAcross)
				}
			})
		}
	}
}

// TestTicketKeyFileReload: ReloadCertificates (SIGUSR2) reads the key
// files again. A broken file keeps the previous keys, with an error naming
// the configuration line; a new key put first keeps the old tickets; once
// no file holds a ticket's key, it no longer resumes.
func TestTicketKeyFileReload(t *testing.T) {
	dir := t.TempDir()
	first, second := filepath.Join(dir, "1.key"), filepath.Join(dir, "2.key")
	writeTicketKey(t, first, 1, 80)
	writeTicketKey(t, second, 1, 80)
	srv := ticketProxy(t, dir, fmt.Sprintf(", session_ticket_keys: [%q, %q]", first, second), nil)
	client := ticketClient(0)
	if resumed(t, srv, client) {
		t.Fatal("first connection resumed")
	}

	writeTicketKey(t, first, 2, 47)
	err := srv.ReloadCertificates()
	if want := "test.yaml:2: listen[0].tls.session_ticket_keys[0]: " + first + ": 47 bytes; want 80 or 48"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("reload of a 47-byte key file: got %v; want %q", err, want)
	}
	if !resumed(t, srv, client) {
		t.Error("no resumption after a failed reload; want the previous keys kept")
	}

	writeTicketKey(t, first, 2, 48) // a new key first; the old one second
	if err := srv.ReloadCertificates(); err != nil {
		t.Fatal(err)
	}
	if !resumed(t, srv, client) {
		t.Error("no resumption with the old key second; want one")
	}
	// Both files replaced: the ticket of that connection, under the key
	// the first file held, no longer resumes.
	writeTicketKey(t, first, 3, 80)
	writeTicketKey(t, second, 4, 80)
	if err := srv.ReloadCertificates(); err != nil {
		t.Fatal(err)
	}
	if resumed(t, srv, client) {
		t.Error("resumed with a key no file holds any more; want a full handshake")
	}
}

// TestTicketKeyFileErrors: a key file that cannot be used stops New with
// the configuration line that names it.
func TestTicketKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	testcert.Write(t, dir, "ws", testcert.Spec{Names: []string{"ws.example.com"}})
	short := filepath.Join(dir, "short.key")
	writeTicketKey(t, short, 1, 32)
	missing := filepath.Join(dir, "missing.key")
	text := fmt.Sprintf(`listen:
  - addr: "127.0.0.1:0"
    tls:
      cert: %q
      key: %q
      session_ticket_keys:
        - %q
        - %q
routes: [{path: /, upstream: "127.0.0.1:1"}]
`, filepath.Join(dir, "ws.crt"), filepath.Join(dir, "ws.key"), short, missing)
	cfg, err := config.Parse("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	_, err = core.New(cfg, core.Options{Logger: testutil.Logger(t)})
	for _, want := range []string{
		"test.yaml:7: listen[0].tls.session_ticket_keys[0]: " + short + ": 32 bytes; want 80 or 48",
		"test.yaml:8: listen[0].tls.session_ticket_keys[1]: open " + missing + ": no such file or directory",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("core.New: got %v; want %q", err, want)
		}
	}
}

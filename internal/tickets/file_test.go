package tickets_test

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wsproxy/internal/tickets"
)

func writeKey(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReadFiles(t *testing.T) {
	dir := t.TempDir()
	k80 := writeKey(t, dir, "a.key", bytes.Repeat([]byte{'a'}, 80))
	k48 := writeKey(t, dir, "b.key", bytes.Repeat([]byte{'b'}, 48))
	short := writeKey(t, dir, "short.key", []byte("0123456789abcdef0123456789abcdef\n"))
	long := writeKey(t, dir, "long.key", bytes.Repeat([]byte{'c'}, 4096))
	at := func(i string) string { return "x.yaml:" + i + ": listen[0].tls.session_ticket_keys[" + i + "]" }
	for _, tc := range []struct {
		name  string
		files []tickets.File
		keys  int
		want  []string // substrings of the error, in order
	}{
		{"80 and 48 bytes", []tickets.File{{k80, at("0")}, {k48, at("1")}}, 2, nil},
		{"missing", []tickets.File{{k80, at("0")}, {filepath.Join(dir, "nope.key"), at("1")}}, 0,
			[]string{at("1") + ": open " + filepath.Join(dir, "nope.key") + ": no such file or directory"}},
		{"wrong sizes, every one named", []tickets.File{{short, at("0")}, {k48, at("1")}, {long, at("2")}}, 0,
			[]string{at("0") + ": " + short + ": 33 bytes; want 80 or 48 random bytes",
				"openssl rand 80 > FILE", at("2") + ": " + long + ": 81 bytes or more; want 80 or 48"}},
		{"a directory", []tickets.File{{dir, at("0")}}, 0, []string{at("0") + ": " + dir + ": read "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := tickets.ReadFiles(tc.files)
			if len(keys) != tc.keys {
				t.Errorf("got %d keys; want %d", len(keys), tc.keys)
			}
			if tc.want == nil {
				if err != nil {
					t.Errorf("got error %v; want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got no error; want %q", tc.want)
			}
			rest := err.Error()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q: want %q (in this order)", err, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestFileKeys: two instances given the same file resume each other's
// sessions; a new file put first (the old one second) still resumes the
// old tickets, and once the old file is gone, they no longer resume.
func TestFileKeys(t *testing.T) {
	dir := t.TempDir()
	oldKey := writeKey(t, dir, "old.key", bytes.Repeat([]byte{1}, 80))
	newKey := writeKey(t, dir, "new.key", bytes.Repeat([]byte{2}, 48))
	load := func(paths ...string) *tls.Config {
		t.Helper()
		var files []tickets.File
		for _, p := range paths {
			files = append(files, tickets.File{Path: p, At: p})
		}
		keys, err := tickets.ReadFiles(files)
		if err != nil {
			t.Fatal(err)
		}
		cfg := serverConfig(t)
		cfg.SetSessionTicketKeys(keys)
		return cfg
	}
	for _, tc := range []struct {
		name    string
		resumer []string
		want    bool
	}{
		{"same file on another instance", []string{oldKey}, true},
		{"new key first, old one kept", []string{newKey, oldKey}, true},
		{"old key gone", []string{newKey}, false},
	} {
		for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			t.Run(tc.name+"/"+tls.VersionName(v), func(t *testing.T) {
				client := clientConfig(v)
				if handshake(t, client, load(oldKey)) {
					t.Fatal("first handshake resumed")
				}
				if got := handshake(t, client, load(tc.resumer...)); got != tc.want {
					t.Errorf("resumed: got %v; want %v", got, tc.want)
				}
			})
		}
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add(bytes.Repeat([]byte{1}, 80))
	f.Add(bytes.Repeat([]byte{1}, 48))
	f.Add([]byte("0123456789abcdef0123456789abcdef\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := tickets.ParseKey(b)
		ok := len(b) == 80 || len(b) == 48
		if (err == nil) != ok {
			t.Fatalf("ParseKey(%d bytes): err = %v; want ok = %v", len(b), err, ok)
		}
		if err != nil && k != [32]byte{} {
			t.Fatalf("ParseKey(%d bytes) failed but returned a key", len(b))
		}
		if ok {
			if k2, _ := tickets.ParseKey(bytes.Clone(b)); k2 != k {
				t.Fatal("ParseKey is not deterministic")
			}
		}
	})
}

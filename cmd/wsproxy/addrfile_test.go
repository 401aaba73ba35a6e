package main

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"wsproxy/internal/testutil"
)

// waitAddrFile waits until p has written its -addr-file path and returns
// the addresses of each kind ("listen", "admin") in file order.
func waitAddrFile(t *testing.T, p *proc, path string) map[string][]string {
	t.Helper()
	var got map[string][]string
	testutil.Eventually(t, "the addresses in "+path, func() error {
		select {
		case <-p.Exited():
			t.Fatalf("%s exited before writing %s", p.Name, path)
		default:
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		got = map[string][]string{}
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			name, addr, ok := strings.Cut(line, " ")
			if !ok || addr == "" || strings.HasSuffix(addr, ":0") {
				t.Fatalf("%s: line %q; want NAME ADDR with the bound port", path, line)
			}
			got[name] = append(got[name], addr)
		}
		return nil
	})
	return got
}

// TestAddrFile: with port 0 in the config, -addr-file says which ports the
// process got, whatever the log level, and goes away when it exits.
func TestAddrFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"single process", nil},
		{"master", []string{"-workers", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, "", "127.0.0.1:0", startEcho(t), "/v1", "1s", "admin: {addr: \"127.0.0.1:0\"}\n")
			file := filepath.Join(t.TempDir(), "addrs")
			p := startProc(t, append([]string{"run", "-config", cfg, "-log-level", "warn", "-addr-file", file}, tc.args...)...)
			addrs := waitAddrFile(t, p, file)
			if len(addrs["listen"]) != 1 || len(addrs["admin"]) != 1 || len(addrs) != 2 {
				t.Fatalf("addresses %v; want one listen and one admin", addrs)
			}
			servesPath(t, addrs["listen"][0], "/v1/x", 3)
			if status, body := testutil.Get(t, client, "http://"+addrs["admin"][0]+"/healthz"); status != http.StatusOK {
				t.Errorf("admin /healthz: %d %s; want 200", status, body)
			}
			p.Signal(t, syscall.SIGTERM)
			if err := p.WaitExit(t); err != nil {
				t.Errorf("exit: %v", err)
			}
			if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after exit, stat %s: %v; want the file removed", file, err)
			}
		})
	}
	t.Run("echo", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "addrs")
		p := startProc(t, "echo", "-listen", "127.0.0.1:0", "-id", "e9", "-addr-file", file)
		addrs := waitAddrFile(t, p, file)
		if len(addrs["listen"]) != 1 || len(addrs) != 1 {
			t.Fatalf("addresses %v; want one listen", addrs)
		}
		status, body := testutil.Get(t, client, "http://"+addrs["listen"][0]+"/x")
		if status != http.StatusOK || !strings.Contains(body, `"id":"e9"`) {
			t.Errorf("GET /x: %d %s; want 200 from e9", status, body)
		}
		p.Signal(t, syscall.SIGTERM)
		if err := p.WaitExit(t); err != nil {
			t.Errorf("exit: %v", err)
		}
		if _, err := os.Stat(file); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("after exit, stat %s: %v; want the file removed", file, err)
		}
	})
}

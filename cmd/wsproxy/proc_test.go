package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wsproxy/internal/echo"
	"wsproxy/internal/master"
	"wsproxy/internal/testutil"
)

// binary is the wsproxy command built once for the tests that run it as a
// separate process (masters and workers).
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "wsproxy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "wsproxy")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	// What the processes the tests start (and kill: a master killed
	// leaves its workers' admin sockets behind) put in TMPDIR goes with
	// the rest.
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", tmp)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a wsproxy process started by a test (testutil.Start): in a
// process group of its own, which its workers join, killed when the test
// ends; its stdout and stderr are in Out.
type proc struct{ *testutil.Proc }

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	return &proc{testutil.Start(t, "wsproxy "+strings.Join(args, " "), exec.Command(binary, args...))}
}

// The log lines in which wsproxy reports an address it bound, with the
// address as the first submatch. The tests configure port 0 and take the
// address from these lines: a port picked by a test and bound later by the
// child may be taken by someone else meanwhile.
const (
	// servingLine: a master's first generation of two workers (as every
	// master of these tests has) is ready, on the port the master reserved
	// for them (the config says port 0).
	servingLine = `msg="generation serving" generation=1 workers=2 addrs=(\S+)`
	// listeningLine: a single process (or a worker) is listening.
	listeningLine = `msg=listening addr=(\S+)`
	// adminLine: the admin listener of a single process or a master.
	adminLine = `msg="admin listening" addr=(\S+)`
)

// workers returns the worker processes of the master p as pid → the
// generation and slot in their environment ("2.1").
func (p *proc) workers(t *testing.T) map[int]string {
	t.Helper()
	out := map[int]string{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; split after ')'.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(p.Pid()) || f[0] == "Z" {
			continue
		}
		env, _ := os.ReadFile(d + "/environ")
		for _, kv := range strings.Split(string(env), "\x00") {
			if v, ok := strings.CutPrefix(kv, master.EnvWorker+"="); ok {
				out[pid] = v
			}
		}
	}
	return out
}

// established counts the established TCP sockets with local port port that
// process pid holds, from /proc/net/tcp and the process's descriptors.
func established(pid int, port uint16) int {
	inodes := map[string]bool{}
	tab, _ := os.ReadFile("/proc/net/tcp")
	for _, line := range strings.Split(string(tab), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "01" { // 01: ESTABLISHED
			continue
		}
		if _, hexPort, ok := strings.Cut(f[1], ":"); ok && hexPort == fmt.Sprintf("%04X", port) {
			inodes[f[9]] = true
		}
	}
	n := 0
	fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	for _, fd := range fds {
		link, err := os.Readlink(fd)
		if err == nil && strings.HasPrefix(link, "socket:[") && inodes[strings.Trim(link[len("socket:"):], "[]")] {
			n++
		}
	}
	return n
}

// startEcho starts an echo backend in the test process.
func startEcho(t *testing.T) string {
	t.Helper()
	e, err := echo.New("127.0.0.1:0", "e1", 1, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e.Addr().String()
}

// writeConfig writes a config with one route to backend, rewritten to
// prefix, and returns its path; a new file in t.TempDir() when path is
// empty. It says loops: 1 unless extra sets loops (a change of loops
// makes a reload start a new generation).
func writeConfig(t *testing.T, path, listen, backend, prefix, drain, extra string) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "wsproxy.yaml")
	}
	loops := "loops: 1\n"
	if strings.Contains(extra, "loops:") {
		loops = ""
	}
	text := fmt.Sprintf(`listen: [{addr: %q}]
%sdrain_timeout: %s
routes:
  - path: /
    upstream: %q
    rewrite: {regex: "^/(.*)", to: "%s/$1"}
%s`, listen, loops, drain, backend, prefix, extra)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// client makes one connection per request, so that each request is routed
// by the kernel to a listener afresh.
var client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// pathAt returns the path the echo backend saw for GET http://addr/x.
func pathAt(addr string) (string, error) {
	resp, err := client.Get("http://" + addr + "/x")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`"path":"([^"]*)"`).FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		return "", fmt.Errorf("GET: %s %s", resp.Status, b)
	}
	return string(m[1]), nil
}

// servesPath waits until n requests in a row reach the backend as want.
func servesPath(t *testing.T, addr, want string, n int) {
	t.Helper()
	testutil.Eventually(t, "GET http://"+addr+"/x reaching "+want, func() error {
		for range n {
			got, err := pathAt(addr)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("path %s; want %s", got, want)
			}
		}
		return nil
	})
}

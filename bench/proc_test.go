package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"wsproxy/internal/testutil"
)

func TestProcFailure(t *testing.T) {
	tests := []struct {
		name, script, want string
	}{
		{"port in use", `echo "listen tcp 127.0.0.1:9: bind: address already in use" >&2; exit 1`, "port in use"},
		{"nginx port in use", `echo "nginx: [emerg] bind() to 127.0.0.1:9 failed (98: Address already in use)" >&2; exit 1`, "port in use"},
		{"other", `echo "config: no such file" >&2; exit 3`, "exited (exit status 3):\n  config: no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := startProc("fake", []string{"/bin/sh", "-c", tt.script}, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = p.waitListening(context.Background(), testutil.RefusedAddr(t), 10*time.Second)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("waitListening = %v; want %q", err, tt.want)
			}
		})
	}
}

func TestProcWaitListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p, err := startProc("sleeper", []string{"/bin/sh", "-c", "sleep 30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(time.Second)
	if err := p.waitListening(context.Background(), ln.Addr().String(), 5*time.Second); err != nil {
		t.Errorf("waitListening on a listening port: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.waitListening(ctx, testutil.RefusedAddr(t), time.Minute); err != context.DeadlineExceeded {
		t.Errorf("waitListening with an expiring context = %v; want deadline exceeded", err)
	}
}

// TestProcWaitAddrFile: the first listen address of the file the process
// writes; the process's failure if it exits first.
func TestProcWaitAddrFile(t *testing.T) {
	tests := []struct {
		name, script, want, wantErr string
	}{
		{"written", `echo "listen 127.0.0.1:4321" > "$F.tmp"; echo "admin 127.0.0.1:4322" >> "$F.tmp"; mv "$F.tmp" "$F"; sleep 30`, "127.0.0.1:4321", ""},
		{"no listen line", `echo "admin 127.0.0.1:4322" > "$F"; sleep 30`, "", "no listen address"},
		{"exits", `echo "bind: permission denied" >&2; exit 1`, "", "exited (exit status 1):\n  bind: permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "addrs")
			p, err := startProc("fake", []string{"/bin/sh", "-c", tt.script}, append(os.Environ(), "F="+file))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.stop(time.Second) })
			got, err := p.waitAddrFile(context.Background(), file, testutil.Deadline)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("waitAddrFile = %q, %v; want %q, %q", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// TestProcWaitServing: a listener handed to a process is serving once a
// probe is accepted and answered or closed, not when it merely connects
// (the kernel queues connections before anyone accepts).
func TestProcWaitServing(t *testing.T) {
	for _, tc := range []struct {
		name    string
		accept  bool   // the test accepts and closes, as the proxy would
		script  string // the process
		wantErr string
	}{
		{"accepted", true, "sleep 30", ""},
		{"queued only", false, "sleep 30", "does not accept"},
		{"exited", false, `echo "nginx: [emerg] unknown directive" >&2; exit 1`, "exited (exit status 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, f, err := listenFile(false)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { f.Close() })
			if tc.accept {
				ln, err := net.FileListener(f)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ln.Close() })
				go func() {
					for {
						c, err := ln.Accept()
						if err != nil {
							return
						}
						c.Close()
					}
				}()
			}
			p, err := startProc("fake", []string{"/bin/sh", "-c", tc.script}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { p.stop(time.Second) })
			timeout := testutil.Deadline
			if tc.wantErr == "does not accept" {
				timeout = time.Second // the failure this case wants
			}
			err = p.waitServing(context.Background(), addr, timeout)
			if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("waitServing = %v; want %q", err, tc.wantErr)
			}
		})
	}
}

// TestListenFileReusePort: with reusePort another SO_REUSEPORT socket can
// listen on the same port (nginx's workers with reuseport), without it not.
func TestListenFileReusePort(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		t.Run(fmt.Sprint(reuse), func(t *testing.T) {
			addr, f, err := listenFile(reuse)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// As nginx's workers bind theirs: SO_REUSEPORT on.
			lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
				return c.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
			}}
			ln, err := lc.Listen(context.Background(), "tcp", addr)
			if err == nil {
				ln.Close()
			}
			if (err == nil) != reuse {
				t.Errorf("a second SO_REUSEPORT listener on %s: %v; want one only with reusePort", addr, err)
			}
		})
	}
}

// TestGroupStop checks that stopping a process also ends what it forked,
// as nginx's workers must be, even when the leader ignores SIGTERM.
func TestGroupStop(t *testing.T) {
	p, err := startProc("forker", []string{"/bin/sh", "-c", `trap "" TERM; sleep 60 & sleep 60 & wait`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "the forker's group", func() error {
		if pids, _ := groupPIDs("/proc", p.pgid()); len(pids) != 3 {
			return fmt.Errorf("group %d has %v; want the shell and two sleeps", p.pgid(), pids)
		}
		return nil
	})
	g := group{grace: 200 * time.Millisecond}
	g.add(p)
	start := time.Now()
	g.stop()
	g.stop() // a second stop is harmless
	testutil.Eventually(t, "the group gone", func() error {
		if pids, _ := groupPIDs("/proc", p.pgid()); len(pids) != 0 {
			return fmt.Errorf("after stop, group %d still has %v", p.pgid(), pids)
		}
		return nil
	})
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("stop took %v", el)
	}
}

func TestTail(t *testing.T) {
	tl := &tail{max: 8}
	tl.Write([]byte("hello "))
	tl.Write([]byte("world"))
	if got := tl.String(); got != "lo world" {
		t.Errorf("tail = %q; want %q", got, "lo world")
	}
}

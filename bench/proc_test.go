package bench

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"
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
			addr, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			err = p.waitListening(context.Background(), addr, 10*time.Second)
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
	free, _ := freePort()
	if err := p.waitListening(ctx, free, time.Minute); err != context.DeadlineExceeded {
		t.Errorf("waitListening with an expiring context = %v; want deadline exceeded", err)
	}
}

// TestGroupStop checks that stopping a process also ends what it forked,
// as nginx's workers must be, even when the leader ignores SIGTERM.
func TestGroupStop(t *testing.T) {
	p, err := startProc("forker", []string{"/bin/sh", "-c", `trap "" TERM; sleep 60 & sleep 60 & wait`}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, _ := groupPIDs("/proc", p.pgid())
		if len(pids) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %d has %v; want the shell and two sleeps", p.pgid(), pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	g := group{grace: 200 * time.Millisecond}
	g.add(p)
	start := time.Now()
	g.stop()
	g.stop() // a second stop is harmless
	for {
		pids, _ := groupPIDs("/proc", p.pgid())
		if len(pids) == 0 {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("after stop, group %d still has %v", p.pgid(), pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
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

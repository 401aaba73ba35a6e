package testutil

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fakeTB records a fatal failure instead of ending the test that uses it.
type fakeTB struct {
	testing.TB
	fatal string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// fatalOf runs fn with a fakeTB in a goroutine of its own (Fatalf ends it)
// and returns the fatal message, empty if none.
func fatalOf(t *testing.T, fn func(tb testing.TB)) string {
	f := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(f)
	}()
	<-done
	return f.fatal
}

func TestEventually(t *testing.T) {
	tests := []struct {
		name      string
		f         func(n int) error
		wantFatal string
		wantCalls int
	}{
		{"at once", func(int) error { return nil }, "", 1},
		{"on the third call", func(n int) error {
			if n < 3 {
				return errors.New("not yet")
			}
			return nil
		}, "", 3},
		{"never", func(n int) error { return fmt.Errorf("call %d", n) }, "counter: after 50ms: call ", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got := fatalOf(t, func(tb testing.TB) {
				eventually(tb, "counter", func() error { calls++; return tt.f(calls) }, 50*time.Millisecond)
			})
			if tt.wantFatal == "" && got != "" || !strings.HasPrefix(got, tt.wantFatal) {
				t.Errorf("failure %q; want %q", got, tt.wantFatal)
			}
			if tt.wantCalls > 0 && calls != tt.wantCalls {
				t.Errorf("%d calls; want %d", calls, tt.wantCalls)
			}
		})
	}
}

func TestWaitFor(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 5 {
			n.Add(1)
		}
	}()
	WaitFor(t, "five increments", func() bool { return n.Load() == 5 })
}

func TestBufferWaitMatch(t *testing.T) {
	var b Buffer
	go func() {
		for i := range 5 {
			fmt.Fprintf(&b, "msg=step n=%d\n", i)
		}
	}()
	if m := b.WaitMatch(t, `n=(\d)`); m[1] != "0" {
		t.Errorf("first match %q; want n=0", m)
	}
	if m := b.WaitMatchFunc(t, `n=(\d)`, func(m []string) bool { return m[1] == "4" }); m[0] != "n=4" {
		t.Errorf("match %q; want n=4", m)
	}
}

func TestBufferJSONLines(t *testing.T) {
	tests := []struct {
		name, in  string
		wantMsgs  []string
		wantFatal bool
	}{
		{"empty", "", nil, false},
		{"two lines", `{"msg":"a"}` + "\n" + `{"msg":"b","n":1}` + "\n", []string{"a", "b"}, false},
		{"not JSON", "msg=a\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Buffer
			b.Write([]byte(tt.in))
			var lines []map[string]any
			fatal := fatalOf(t, func(tb testing.TB) { lines = b.JSONLines(tb) })
			if (fatal != "") != tt.wantFatal {
				t.Fatalf("failure %q; want one: %v", fatal, tt.wantFatal)
			}
			var msgs []string
			for _, l := range lines {
				msgs = append(msgs, l["msg"].(string))
			}
			if fmt.Sprint(msgs) != fmt.Sprint(tt.wantMsgs) {
				t.Errorf("msgs %q; want %q", msgs, tt.wantMsgs)
			}
		})
	}
}

// TestRefusedAddr: a connect is refused, and no listener can take the port
// while the test runs.
func TestRefusedAddr(t *testing.T) {
	addr := RefusedAddr(t)
	if _, err := net.Dial("tcp", addr); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial %s: %v; want connection refused", addr, err)
	}
	if ln, err := net.Listen("tcp", addr); !errors.Is(err, syscall.EADDRINUSE) {
		if err == nil {
			ln.Close()
		}
		t.Errorf("listen %s: %v; want address in use", addr, err)
	}
}

// TestListenFile: the file is the listener, and it accepts before anyone
// calls accept on it.
func TestListenFile(t *testing.T) {
	addr, f := ListenFile(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// TestListenFileNonblocking: the listener a child inherits through Start
// is non-blocking, as it was before (os/exec makes it blocking).
func TestListenFileNonblocking(t *testing.T) {
	_, f := ListenFile(t)
	if !fileNonblock(f) {
		t.Fatal("ListenFile: blocking before the start; want non-blocking")
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	cmd.ExtraFiles = []*os.File{f}
	p := Start(t, "sh", cmd)
	if err := p.WaitExit(t); err != nil {
		t.Fatalf("exit: %v", err)
	}
	if !fileNonblock(f) {
		t.Error("after Start: blocking; want non-blocking")
	}
}

func TestServe(t *testing.T) {
	addr := Serve(t, func(c net.Conn) {
		fmt.Fprint(c, "hello")
		c.Close()
	})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(Deadline))
	b := make([]byte, 16)
	n, _ := c.Read(b)
	if string(b[:n]) != "hello" {
		t.Errorf("read %q; want hello", b[:n])
	}
}

func TestGet(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, r.URL.Path)
	}))
	t.Cleanup(ts.Close)
	if status, body := Get(t, ts.Client(), ts.URL+"/x"); status != http.StatusTeapot || body != "/x" {
		t.Errorf("got %d %q; want 418 %q", status, body, "/x")
	}
}

// TestProcLines: a script reports READY with its port on stdout, then a
// line, then ends; its stderr is kept in Out.
func TestProcLines(t *testing.T) {
	p := StartLines(t, "script", exec.Command("/bin/sh", "-c", `echo 'READY {"port":4321}'; echo second; echo oops >&2`))
	deadline := time.Now().Add(Deadline)
	var ready struct{ Port int }
	if err := p.Ready(deadline, &ready); err != nil || ready.Port != 4321 {
		t.Fatalf("Ready: %+v, %v; want port 4321", ready, err)
	}
	if line, err := p.Next(deadline); line != "second" || err != nil {
		t.Errorf("Next = %q, %v; want second", line, err)
	}
	if _, err := p.Next(deadline); !errors.Is(err, ErrEOF) {
		t.Errorf("Next at the end = %v; want ErrEOF", err)
	}
	if err := p.WaitExit(t); err != nil {
		t.Errorf("exit: %v", err)
	}
	if got := p.Out.String(); got != "oops\n" {
		t.Errorf("Out = %q; want the stderr line", got)
	}
}

// TestProcGroup: a process that reports in its output, then is stopped with
// its group, children included.
func TestProcGroup(t *testing.T) {
	p := Start(t, "forker", exec.Command("/bin/sh", "-c", `trap "exit 7" TERM; sleep 60 >/dev/null 2>&1 & echo "msg=started child=$!"; wait`))
	child := p.WaitLog(t, `msg=started child=(\d+)`)[1]
	// The shell reports the child as soon as it has forked it; a signal
	// that reached the forked shell before it ran sleep would be taken by
	// its trap, and sleep would live on.
	WaitFor(t, "sleep "+child+" started", func() bool {
		cmdline, _ := os.ReadFile("/proc/" + child + "/cmdline")
		return string(cmdline) == "sleep\x0060\x00"
	})
	p.SignalGroup(t, syscall.SIGTERM) // the shell exits 7, sleep of the signal
	var ee *exec.ExitError
	if err := p.WaitExit(t); !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("exit: %v; want status 7", err)
	}
	pid := 0
	fmt.Sscan(child, &pid)
	WaitFor(t, "sleep "+child+" gone", func() bool {
		// Gone, or a zombie where no init reaps orphans (some containers).
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return syscall.Kill(pid, 0) == syscall.ESRCH || err == nil && strings.Contains(string(stat), ") Z ")
	})
}

package testutil

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Proc is a child process of a test. It runs in a process group of its
// own, so that what it starts (workers, browser helpers) goes with it: the
// group is killed with SIGKILL when the test ends, and what the process
// wrote is logged if the test failed.
//
// A child that serves binds port 0 and reports the address it got, in a
// log line (WaitLog) or on stdout (Ready); the test never picks a port for
// it.
type Proc struct {
	Name string
	Cmd  *exec.Cmd

	// Out holds what the process wrote to the streams the caller left nil
	// in Cmd: stdout and stderr with Start, stderr with StartLines.
	Out *Buffer

	// Lines is stdout line by line with StartLines, closed at its end; nil
	// with Start. A test that stops reading it should drain it, or the
	// process blocks once its pipe is full.
	Lines <-chan string

	done chan struct{} // closed once the process has been waited for
	err  error         // cmd.Wait's result, once done is closed
	kill sync.Once
}

// ErrEOF is Next's error when the process closed its stdout.
var ErrEOF = errors.New("stdout closed")

// Start runs cmd as name; Out collects its stdout and stderr unless the
// caller directed them elsewhere.
func Start(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := newProc(name, cmd)
	if cmd.Stdout == nil {
		cmd.Stdout = p.Out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.Out
	}
	if err := start(cmd); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	p.cleanup(t, nil)
	return p
}

// StartLines runs cmd as name with its stdout on Lines, line by line;
// Out collects its stderr unless the caller directed it elsewhere.
func StartLines(t testing.TB, name string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := newProc(name, cmd)
	if cmd.Stderr == nil {
		cmd.Stderr = p.Out
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("%s: stdout: %v", name, err)
	}
	if err := start(cmd); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	lines := make(chan string, 1024)
	p.Lines = lines
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.err = cmd.Wait() // after the last read: Wait closes the pipe
		close(p.done)
	}()
	p.cleanup(t, lines)
	return p
}

// start starts cmd, leaving its ExtraFiles in the mode they were in.
// os/exec makes them blocking (os.File.Fd), and the child's copy with
// them, since a dup shares the mode: a listener from ListenFile would
// reach nginx blocking, where it expects its listeners non-blocking (a
// worker that loses a connection to another would block in accept).
func start(cmd *exec.Cmd) error {
	nonblock := make([]bool, len(cmd.ExtraFiles))
	for i, f := range cmd.ExtraFiles {
		nonblock[i] = fileNonblock(f)
	}
	err := cmd.Start()
	for i, f := range cmd.ExtraFiles {
		if nonblock[i] {
			if rc, cerr := f.SyscallConn(); cerr == nil {
				rc.Control(func(fd uintptr) { _ = unix.SetNonblock(int(fd), true) })
			}
		}
	}
	return err
}

func fileNonblock(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	nonblock := false
	rc.Control(func(fd uintptr) {
		flags, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nonblock = err == nil && flags&unix.O_NONBLOCK != 0
	})
	return nonblock
}

func newProc(name string, cmd *exec.Cmd) *Proc {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return &Proc{Name: name, Cmd: cmd, Out: &Buffer{}, done: make(chan struct{})}
}

func (p *Proc) cleanup(t testing.TB, lines chan string) {
	t.Cleanup(func() {
		p.Kill()
		if lines != nil {
			for range lines { // unblock the reader so that it reaches Wait
			}
		}
		<-p.done
		if out := p.Out.String(); t.Failed() && out != "" {
			t.Logf("output of %s:\n%s", p.Name, out)
		}
	})
}

// Pid is the process's id, which is also its process group's.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Kill sends SIGKILL to the process's group, as a crash would end it. It
// may be called more than once.
func (p *Proc) Kill() {
	p.kill.Do(func() { _ = syscall.Kill(-p.Pid(), syscall.SIGKILL) })
}

// Signal sends sig to the process alone.
func (p *Proc) Signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to %s: %v", sig, p.Name, err)
	}
}

// SignalGroup sends sig to the process's group, as a terminal sends
// SIGINT on Ctrl-C.
func (p *Proc) SignalGroup(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(-p.Pid(), sig); err != nil {
		t.Fatalf("signal %v to the group of %s: %v", sig, p.Name, err)
	}
}

// WaitLog waits until Out matches re and returns the submatches of the
// first match.
func (p *Proc) WaitLog(t testing.TB, re string) []string {
	t.Helper()
	return p.Out.WaitMatch(t, re)
}

// Exited is closed once the process has exited and been waited for.
func (p *Proc) Exited() <-chan struct{} { return p.done }

// WaitExit waits for the process to end and returns cmd.Wait's result.
func (p *Proc) WaitExit(t testing.TB) error {
	t.Helper()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.err
	case <-timer.C:
		t.Fatalf("%s did not exit within %v", p.Name, Deadline)
		return nil
	}
}

// Next returns the next line of stdout (StartLines), an error wrapping
// ErrEOF when the process closed its stdout, or an error at deadline.
func (p *Proc) Next(deadline time.Time) (string, error) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case line, ok := <-p.Lines:
		if !ok {
			return "", fmt.Errorf("%s: %w (stderr: %q)", p.Name, ErrEOF, p.Out.String())
		}
		return line, nil
	case <-timer.C:
		return "", fmt.Errorf("%s: no output line before the deadline", p.Name)
	}
}

// Ready reads the next line of stdout, which must be READY and a JSON
// object, into v: the way a server script that bound port 0 reports its
// port ({"port":N}) once it listens.
func (p *Proc) Ready(deadline time.Time, v any) error {
	line, err := p.Next(deadline)
	if err != nil {
		return err
	}
	js, ok := strings.CutPrefix(line, "READY ")
	if !ok {
		return fmt.Errorf("%s: got %q; want READY {...}", p.Name, line)
	}
	if err := json.Unmarshal([]byte(js), v); err != nil {
		return fmt.Errorf("%s: got %q: %v", p.Name, line, err)
	}
	return nil
}

package bench

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a subprocess in a process group of its own, so that signals sent
// to the terminal's group (Ctrl-C) do not reach it directly and so that
// stop can end it together with everything it forked (nginx's workers).
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed when the process has exited
	err  error         // exit status; valid after done
}

// startProc starts argv[0] with the remaining arguments in its own process
// group. Its stdout and stderr are kept (the last few KiB) for error messages.
func startProc(name string, argv []string, env []string) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = env
	p := &proc{name: name, cmd: cmd, out: &tail{max: 4 << 10}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// pgid is the process group of p, which is its pid.
func (p *proc) pgid() int { return p.cmd.Process.Pid }

// exited reports whether p has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// failure describes why p exited, with the end of its output. An address
// already in use gets a message that says so.
func (p *proc) failure() error {
	out := strings.TrimSpace(p.out.String())
	if strings.Contains(out, "address already in use") || strings.Contains(out, "Address already in use") {
		return fmt.Errorf("bench: %s: port in use (another process holds it; stop it or rerun): %s", p.name, lastLine(out))
	}
	return fmt.Errorf("bench: %s exited (%v):\n%s", p.name, p.err, indent(out))
}

// stop ends p's whole process group: SIGTERM, then SIGKILL after grace.
func (p *proc) stop(grace time.Duration) {
	_ = syscall.Kill(-p.pgid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	// Kill the group even when the leader is gone: nginx workers could
	// outlive a master that died.
	_ = syscall.Kill(-p.pgid(), syscall.SIGKILL)
	<-p.done
}

// waitListening waits until addr accepts TCP connections, p exits, or ctx
// or timeout ends.
func (p *proc) waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			// The port might belong to someone else: make sure p is alive.
			if p.exited() {
				return p.failure()
			}
			return nil
		}
		select {
		case <-p.done:
			return p.failure()
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s not listening on %s after %v:\n%s", p.name, addr, timeout, indent(p.out.String()))
		}
	}
}

// group stops the processes added to it, last first.
type group struct {
	mu    sync.Mutex
	procs []*proc
}

func (g *group) add(p *proc) {
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
}

// stop ends every process of g; it may be called more than once.
func (g *group) stop() {
	g.mu.Lock()
	ps := g.procs
	g.procs = nil
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop(3 * time.Second)
		}()
	}
	wg.Wait()
}

// freePort returns a loopback address with a port nobody listens on now.
// The port is free only until someone else takes it; a subprocess that then
// fails to bind reports "port in use".
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tail is an io.Writer that keeps the last max bytes written.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}

func indent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return "  (no output)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}

package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
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
// group, with env (nil: this process's environment) and files as its
// descriptors 3, 4, ... Its stdout and stderr are kept (the last few KiB)
// for error messages.
func startProc(name string, argv []string, env []string, files ...*os.File) (*proc, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = env
	cmd.ExtraFiles = files
	p := &proc{name: name, cmd: cmd, out: &tail{max: 4 << 10}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	err := cmd.Start()
	// Starting made the files blocking (os.File.Fd), and the child's
	// copies with them: a dup shares the mode. nginx accepts on inherited
	// listeners as on its own, non-blocking ones; a worker that lost a
	// connection to another would block in accept.
	for _, f := range files {
		if rc, cerr := f.SyscallConn(); cerr == nil {
			rc.Control(func(fd uintptr) { _ = syscall.SetNonblock(int(fd), true) })
		}
	}
	if err != nil {
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
	return p.retry(ctx, "not listening on "+addr, timeout, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close() // the port might belong to someone else: retry checks p is alive
		}
		return err == nil
	})
}

// retry calls ready every 20 ms until it reports true while p is alive,
// p exits, or ctx or timeout ends; what says in the error what p failed at.
func (p *proc) retry(ctx context.Context, what string, timeout time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if ready() {
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
			return fmt.Errorf("bench: %s %s after %v:\n%s", p.name, what, timeout, indent(p.out.String()))
		}
	}
}

// group stops the processes added to it, all at once.
type group struct {
	grace time.Duration // between SIGTERM and SIGKILL; 0 means 3s
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
	grace := g.grace
	if grace == 0 {
		grace = 3 * time.Second
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() { p.stop(grace) })
	}
	wg.Wait()
}

// waitAddrFile waits until p, started with -addr-file path (wsproxy run
// or echo, on port 0), has written the file, and returns the first listen
// address in it; or until p exits, or ctx or timeout ends.
func (p *proc) waitAddrFile(ctx context.Context, path string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if b, err := os.ReadFile(path); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if addr, ok := strings.CutPrefix(line, "listen "); ok {
					return addr, nil
				}
			}
			return "", fmt.Errorf("bench: %s: no listen address in %s: %q", p.name, path, b)
		}
		select {
		case <-p.done:
			return "", p.failure()
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("bench: %s wrote no addresses to %s within %v:\n%s", p.name, path, timeout, indent(p.out.String()))
		}
	}
}

// listenFile listens on a port of 127.0.0.1 the kernel picks and returns
// the address and the listening socket as a file, for a peer that takes
// its listener from its parent (nginx: the NGINX environment variable;
// HAProxy: bind fd@N): neither can be told to bind port 0 and report the
// port, and a port picked here, closed and bound later by the peer could
// be taken meanwhile. With reusePort the socket has SO_REUSEPORT, so that
// nginx's workers can bind listeners of their own beside it (listen ...
// reuseport). The caller closes the file once the peer has started.
func listenFile(reusePort bool) (string, *os.File, error) {
	lc := net.ListenConfig{}
	if reusePort {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var err error
			if cerr := c.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) }); cerr != nil {
				return cerr
			}
			return err
		}
	}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("bench: listen for the proxy: %w", err)
	}
	defer ln.Close() // the file is a dup of the socket, which stays open with it
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return "", nil, fmt.Errorf("bench: listen for the proxy: %w", err)
	}
	return ln.Addr().String(), f, nil
}

// waitServing waits until p, handed its listening socket at addr, accepts
// on it, or p exits, or ctx or timeout ends. The socket listened before p
// ran, so a connect proves nothing: it queues until p accepts. A line no
// HTTP server takes ("X") is answered (400) or the connection closed (a
// TLS listener) once p has accepted it; a probe still queued after a
// while is given up and another tried.
func (p *proc) waitServing(ctx context.Context, addr string, timeout time.Duration) error {
	return p.retry(ctx, "does not accept on "+addr, timeout, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return false
		}
		c.SetDeadline(time.Now().Add(500 * time.Millisecond))
		_, err = c.Write([]byte("X\r\n\r\n"))
		if err == nil {
			_, err = c.Read(make([]byte, 1))
		}
		c.Close()
		var ne net.Error
		return !errors.As(err, &ne) || !ne.Timeout() // an answer, an end of stream or a reset: p accepted
	})
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

// waitListeners waits until n sockets listen on addr (SO_REUSEPORT: one per
// worker), as /proc/net/tcp lists them, p exits, or ctx or timeout ends.
func (p *proc) waitListeners(ctx context.Context, addr string, n int, timeout time.Duration) error {
	if n <= 1 {
		return nil
	}
	deadline := time.Now().Add(timeout)
	for {
		got, err := countListeners("/proc/net/tcp", addr)
		if err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		select {
		case <-p.done:
			return p.failure()
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s: %d of %d workers listening on %s after %v:\n%s", p.name, got, n, addr, timeout, indent(p.out.String()))
		}
	}
}

// countListeners counts the sockets in LISTEN state (0A) bound to the IPv4
// address addr ("127.0.0.1:PORT") in file, which is /proc/net/tcp's format.
func countListeners(file, addr string) (int, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Is4() {
		return 0, fmt.Errorf("bench: count listeners: %q is not an IPv4 address and port", addr)
	}
	a := ap.Addr().As4()
	// The address is the in-memory u32 in hex: little-endian on amd64
	// and arm64.
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", a[3], a[2], a[1], a[0], ap.Port())
	data, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 3 && f[1] == want && f[3] == "0A" {
			n++
		}
	}
	return n, nil
}

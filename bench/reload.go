package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wsproxy/internal/wsseq"
)

// ReloadMaxConns caps the reload scenario's tunnels: its clients
// (internal/wsseq) all run in the bench process, one descriptor each, from
// one source address, and each proxy process holds at most ~9,900.
const ReloadMaxConns = 8000

// ReloadResult is what the clients of the reload scenario saw while the
// proxy was reloaded Reloads times (and, for wsproxy, upgraded once).
type ReloadResult struct {
	Reloads  int `json:"reloads"`  // configuration reloads signalled
	Upgrades int `json:"upgrades"` // binary upgrades (wsproxy: a new file at its path, then SIGHUP)
	Open     int `json:"open"`     // tunnels open when the first reload was signalled
	Closed   int `json:"closed"`   // of them, tunnels that failed before the end (any cause below)
	// CloseReasons counts the closed tunnels by what the client saw first:
	// "close 1001" (a Close frame and its code), "EOF", "reset",
	// "timeout", "lost" (an echo skipped: a later message came first),
	// "duplicated" (an earlier message came again), "other".
	CloseReasons map[string]int `json:"close_reasons,omitempty"`
	// Sent messages, Echoed in order (each checked: number and content),
	// Unanswered (sent, never echoed: in flight on a tunnel that closed).
	Sent       uint64        `json:"sent"`
	Echoed     uint64        `json:"echoed"`
	Unanswered uint64        `json:"unanswered"`
	MaxRTT     time.Duration `json:"max_rtt"` // the longest round trip of an echoed message
	// Confirmed is how many reloads the proxy was seen to take: wsproxy's
	// wsproxy_reloads_total ("applied" in place or "generation"); for
	// nginx and HAProxy a worker process that was not there before.
	Confirmed int `json:"confirmed"`
	// Applied and Generations split wsproxy's confirmed reloads.
	Applied     int `json:"applied,omitempty"`
	Generations int `json:"generations,omitempty"`
}

// reloadRow formats a reload trial.
func reloadRow(t Trial) []string {
	rr := t.Reload
	if rr == nil {
		rr = &ReloadResult{}
	}
	var reasons []string
	for k, v := range rr.CloseReasons {
		reasons = append(reasons, fmt.Sprintf("%s %d", k, v))
	}
	slices.Sort(reasons)
	how := "—"
	if len(reasons) > 0 {
		how = strings.Join(reasons, ", ")
	}
	taken := fmt.Sprint(rr.Confirmed)
	if t.Proxy == Wsproxy {
		taken = fmt.Sprintf("%d (%d in place, %d new generation(s))", rr.Confirmed, rr.Applied, rr.Generations)
	}
	return []string{t.Proxy, fmt.Sprint(rr.Open), fmt.Sprintf("%d + %d", rr.Reloads, rr.Upgrades), taken,
		fmt.Sprint(rr.Closed), how, fmt.Sprint(rr.Sent), fmt.Sprint(rr.Echoed), fmt.Sprint(rr.Unanswered), dur(rr.MaxRTT)}
}

// reload runs the reload scenario (run has started the backends; the
// proxy starts here, from a copy of the binary for wsproxy).
func (r *runner) reload(ctx context.Context, g *group, dir string, backends []string, t *Trial) error {
	n := r.conns(Reload)
	t.Conns = n
	rr := &ReloadResult{}
	t.Reload = rr
	bin := filepath.Join(dir, "wsproxy-under-test")
	if err := copyFile(r.cfg.Binary, bin); err != nil {
		return err
	}
	s := setup{Listen: "127.0.0.1:0", Backends: backends, Conns: n, Files: r.cfg.files, Dir: dir, Loops: r.cfg.Loops,
		Workers: max(2, r.cfg.Workers), Reload: true, Drain: r.cfg.ReloadDrain}
	p, listen, err := r.startWith(ctx, g, t.Proxy, s, bin)
	if err != nil {
		return err
	}
	if t.Proxy == Nginx {
		s.Listen = listen // the inherited socket's address, as startWith wrote it
	}
	deadline, _ := ctx.Deadline()
	clients := make([]*wsseq.Client, 0, n)
	defer func() {
		for _, cl := range clients {
			cl.Close()
		}
	}()
	for i := range n {
		cl, err := wsseq.Dial(listen, servicePath+"/ws", i, deadline)
		if err != nil {
			return fmt.Errorf("tunnel %d of %d: %w", i+1, n, err)
		}
		cl.SetLarge(0, 0)
		clients = append(clients, cl)
		cl.Pump(1, r.cfg.ReloadInterval)
		t.Up++
		if i%500 == 499 {
			r.prog.status("%d tunnels open", i+1)
		}
	}
	for _, cl := range clients {
		if err := cl.Wait(1, time.Until(deadline)); err != nil {
			return fmt.Errorf("first echo: %w", err)
		}
	}
	rr.Open = len(clients)
	r.prog.status("%d tunnels open, a numbered message every %v each; reloading", rr.Open, r.cfg.ReloadInterval)

	c := reloadCheck{r: r, p: p, name: t.Proxy, dir: dir}
	if err := c.init(ctx); err != nil {
		return err
	}
	for i := 1; i <= r.cfg.Reloads+1; i++ {
		upgrade := i > r.cfg.Reloads
		if upgrade && t.Proxy != Wsproxy {
			break
		}
		if err := sleep(ctx, r.cfg.ReloadEvery); err != nil {
			return err
		}
		if upgrade {
			// A new file at the master's path: the next SIGHUP starts a
			// generation from it.
			if err := copyFile(r.cfg.Binary, bin+".new"); err != nil {
				return err
			}
			if err := os.Rename(bin+".new", bin); err != nil {
				return err
			}
			rr.Upgrades++
		} else {
			s.Variant = i
			if err := os.WriteFile(filepath.Join(dir, proxies[t.Proxy].file), []byte(proxies[t.Proxy].config(s)), 0o644); err != nil {
				return err
			}
			rr.Reloads++
		}
		if err := c.signal(ctx); err != nil {
			return fmt.Errorf("reload %d: %w", i, err)
		}
		r.prog.status("reload %d done (%s); %d tunnels failed so far", i, c.last, failed(clients))
	}
	// Traffic after the last reload, past the old workers' drain: a
	// tunnel an old worker closes at its end is counted.
	if err := sleep(ctx, r.cfg.ReloadDrain+r.cfg.ReloadEvery); err != nil {
		return err
	}
	rr.Confirmed, rr.Applied, rr.Generations = c.confirmed, c.applied, c.generations
	rr.collect(clients, time.Until(deadline))
	if rr.Confirmed < rr.Reloads+rr.Upgrades {
		return fmt.Errorf("%d of %d reloads confirmed", rr.Confirmed, rr.Reloads+rr.Upgrades)
	}
	return nil
}

func failed(clients []*wsseq.Client) int {
	n := 0
	for _, cl := range clients {
		if cl.Err() != nil {
			n++
		}
	}
	return n
}

// collect stops every client (waiting up to timeout for the echoes of
// the live ones) and counts what they saw.
func (rr *ReloadResult) collect(clients []*wsseq.Client, timeout time.Duration) {
	rr.CloseReasons = map[string]int{}
	end := time.Now().Add(timeout)
	for _, cl := range clients {
		err := cl.Stop(time.Until(end))
		rr.Sent += cl.Sent()
		rr.Echoed += cl.Echoed()
		rr.MaxRTT = max(rr.MaxRTT, cl.MaxRTT())
		if err != nil {
			rr.Closed++
			rr.CloseReasons[closeReason(err)]++
		}
	}
	rr.Unanswered = rr.Sent - rr.Echoed
	if len(rr.CloseReasons) == 0 {
		rr.CloseReasons = nil
	}
}

var (
	closeCode = regexp.MustCompile(`Close frame received: ([0-9a-f]{4})`)
	mismatch  = regexp.MustCompile(`got message (\d+) .*; want message (\d+) `)
)

// closeReason names what a wsseq client's error says happened.
func closeReason(err error) string {
	msg := err.Error()
	switch {
	case errors.Is(err, wsseq.ErrClosed):
		if m := closeCode.FindStringSubmatch(msg); m != nil {
			code, _ := strconv.ParseUint(m[1], 16, 16)
			return fmt.Sprintf("close %d", code)
		}
		return "close (no code)"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, os.ErrDeadlineExceeded) || strings.Contains(msg, "no ") && strings.Contains(msg, " echoes after "):
		return "timeout"
	}
	if m := mismatch.FindStringSubmatch(msg); m != nil {
		got, _ := strconv.Atoi(m[1])
		want, _ := strconv.Atoi(m[2])
		if got > want {
			return "lost"
		}
		return "duplicated"
	}
	return "other"
}

// copyFile copies the executable src to dst (a new file).
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

// reloadCheck signals a proxy to reload and waits (bounded) until it is
// seen to have taken the reload.
type reloadCheck struct {
	r     *runner
	p     *proc
	name  string
	dir   string
	admin string       // wsproxy's admin listener
	pids  map[int]bool // every process of the group seen so far (nginx, HAProxy)
	last  string

	confirmed, applied, generations int
}

func (c *reloadCheck) init(ctx context.Context) error {
	if c.name == Wsproxy {
		data, err := os.ReadFile(filepath.Join(c.dir, "addrs"))
		if err != nil {
			return err
		}
		for _, l := range strings.Split(string(data), "\n") {
			if a, ok := strings.CutPrefix(l, "admin "); ok {
				c.admin = strings.TrimSpace(a)
			}
		}
		if c.admin == "" {
			return fmt.Errorf("bench: no admin address in %s", filepath.Join(c.dir, "addrs"))
		}
		return nil
	}
	c.pids = map[int]bool{}
	pids, err := groupPIDs("/proc", c.p.pgid())
	for _, pid := range pids {
		c.pids[pid] = true
	}
	return err
}

// signal reloads the proxy: SIGHUP to wsproxy's master and nginx's,
// SIGUSR2 to HAProxy's master (-W).
func (c *reloadCheck) signal(ctx context.Context) error {
	sig := syscall.SIGHUP
	if c.name == HAProxy {
		sig = syscall.SIGUSR2
	}
	var before map[string]int
	if c.name == Wsproxy {
		var err error
		if before, err = c.reloads(); err != nil {
			return err
		}
	}
	if err := c.p.cmd.Process.Signal(sig); err != nil {
		return err
	}
	end := time.Now().Add(startTimeout + c.r.cfg.ReloadDrain)
	for {
		if c.name == Wsproxy {
			now, err := c.reloads()
			if err == nil {
				if now["refused"] > before["refused"] {
					return fmt.Errorf("wsproxy refused the reload:\n%s", indent(c.p.out.String()))
				}
				if d := now["applied"] - before["applied"]; d > 0 {
					c.confirmed, c.applied, c.last = c.confirmed+1, c.applied+1, "applied in place"
					return nil
				}
				if d := now["generation"] - before["generation"]; d > 0 {
					c.confirmed, c.generations, c.last = c.confirmed+1, c.generations+1, "new generation"
					return nil
				}
			}
		} else if pids, err := groupPIDs("/proc", c.p.pgid()); err == nil {
			fresh := 0
			for _, pid := range pids {
				if !c.pids[pid] {
					fresh++
					c.pids[pid] = true
				}
			}
			if fresh > 0 {
				c.confirmed++
				c.last = fmt.Sprintf("%d new processes", fresh)
				return nil
			}
		}
		if c.p.exited() {
			return c.p.failure()
		}
		if time.Now().After(end) {
			log, _ := os.ReadFile(filepath.Join(c.dir, "error.log")) // nginx's
			return fmt.Errorf("no sign of the reload after %v:\n%s%s", startTimeout+c.r.cfg.ReloadDrain, indent(c.p.out.String()), indent(string(log)))
		}
		if err := sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

var reloadsLine = regexp.MustCompile(`(?m)^wsproxy_reloads_total\{result="(\w+)"\} (\d+)`)

// reloads reads wsproxy_reloads_total from the master's admin listener.
func (c *reloadCheck) reloads() (map[string]int, error) {
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + c.admin + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, m := range reloadsLine.FindAllStringSubmatch(string(body), -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	return out, nil
}

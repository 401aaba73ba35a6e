package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sync"
	"time"
)

// ChildEnv is set (to "1") in the environment of every child process. A
// program whose main does not dispatch "loadtest -child" itself, such as a
// test binary, checks it in TestMain and calls ChildMain.
const ChildEnv = "WSPROXY_LOADTEST_CHILD"

// The line protocol between parent and child. The child writes childMsg
// lines to stdout: a snapshot each second, ready once (then it waits),
// finally its result or an error. The parent writes "start" (begin the
// Duration phase) or "stop" (close everything) to its stdin; end of input
// means stop too.
const (
	cmdStart = "start"
	cmdStop  = "stop"
)

// childMsg is one line from a child; exactly one field is set.
type childMsg struct {
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	Ready    *int      `json:"ready,omitempty"`
	Result   *tally    `json:"result,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// childConfig is the part of Config that crosses to a child, which
// always runs its share in one process.
type childConfig struct {
	URL      string
	Insecure bool
	CAFile   string
	Conns    int
	Rate     int
	Sources  []netip.Addr
	Workload string
	MsgRate  float64
	Size     int
	Duration time.Duration
	Timeout  time.Duration
	Loops    int
	Header   http.Header
}

func (c childConfig) config() Config {
	return Config{
		URL: c.URL, Insecure: c.Insecure, CAFile: c.CAFile, Conns: c.Conns, Rate: c.Rate, Sources: c.Sources, Workload: c.Workload,
		MsgRate: c.MsgRate, Size: c.Size, Duration: c.Duration, Timeout: c.Timeout,
		Loops: c.Loops, MaxPerProcess: c.Conns, Header: c.Header,
	}
}

// ChildMain runs the child side of a spread run: args[0] is the JSON
// config the parent passed after -child. It talks the line protocol on
// stdin and stdout and returns the process exit code. SIGINT is ignored:
// a Ctrl-C reaches the whole process group, and the parent, which gets it
// too, stops the children and still collects their results.
func ChildMain(args []string) int {
	signal.Ignore(os.Interrupt)
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	emit := func(m childMsg) {
		mu.Lock()
		defer mu.Unlock()
		enc.Encode(m)
	}
	var cc childConfig
	if len(args) != 1 {
		emit(childMsg{Error: "child: want one JSON argument"})
		return 2
	}
	if err := json.Unmarshal([]byte(args[0]), &cc); err != nil {
		emit(childMsg{Error: "child: " + err.Error()})
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		started := false
		for sc.Scan() {
			if sc.Text() == cmdStart && !started {
				started = true
				close(start)
			} else if sc.Text() == cmdStop {
				break
			}
		}
		cancel()
	}()
	cfg := cc.config()
	cfg.OnReady = func(up int) {
		emit(childMsg{Ready: &up})
		select {
		case <-start:
		case <-ctx.Done():
		}
	}
	cfg.Progress = func(s Snapshot) { emit(childMsg{Snapshot: &s}) }
	if err := cfg.Validate(); err != nil {
		emit(childMsg{Error: err.Error()})
		return 1
	}
	cfg = cfg.withDefaults()
	cpu0 := cpuTime()
	t, err := runLocal(ctx, &cfg, time.Now())
	if t == nil {
		emit(childMsg{Error: err.Error()})
		return 1
	}
	t.CPU = cpuTime() - cpu0
	emit(childMsg{Result: t})
	return 0
}

// child is the parent's handle on one child process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	conns int
	last  Snapshot
	ready bool // sent ready, or exited without
	res   *tally
	err   string
}

// splitConfig returns the config of child i of n: an even share of the
// connections and the rate, and the source list rotated so that sources
// stay in round-robin across children.
func splitConfig(cfg *Config, i, n int) childConfig {
	conns := cfg.Conns / n
	before := i*conns + min(i, cfg.Conns%n)
	if i < cfg.Conns%n {
		conns++
	}
	rate := 0
	if cfg.Rate > 0 {
		rate = max(cfg.Rate*conns/cfg.Conns, 1)
	}
	src := slices.Clone(cfg.Sources)
	if len(src) > 0 {
		k := before % len(src)
		src = append(src[k:], src[:k]...)
	}
	return childConfig{
		URL: cfg.URL, Insecure: cfg.Insecure, CAFile: cfg.CAFile, Conns: conns, Rate: rate, Sources: src, Workload: cfg.Workload,
		MsgRate: cfg.MsgRate, Size: cfg.Size, Duration: cfg.Duration, Timeout: cfg.Timeout,
		Loops: cfg.Loops, Header: cfg.Header,
	}
}

// startChild starts the running binary as a child with config cc; its
// stdout lines arrive on msgs tagged with i, then a nil message at EOF.
func startChild(i int, cc childConfig, msgs chan<- indexed) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = os.Args[0]
	}
	arg, err := json.Marshal(cc)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "loadtest", "-child", string(arg))
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrChild, exe, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			var m childMsg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = childMsg{Error: fmt.Sprintf("bad line %.80q: %v", sc.Text(), err)}
			}
			msgs <- indexed{i, &m}
		}
		msgs <- indexed{i, nil}
	}()
	return &child{cmd: cmd, stdin: stdin, conns: cc.Conns}, nil
}

// indexed is a message from child i; nil m means its stdout closed.
type indexed struct {
	i int
	m *childMsg
}

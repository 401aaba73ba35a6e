package master_test

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wsproxy/config"
	"wsproxy/internal/master"
	"wsproxy/internal/testutil"
)

// TestMain turns the test binary into a fake worker when a master started
// it. The Spec's Name says how the worker behaves:
//
//	ok     report ready, exit 0 on SIGTERM (any other name too); hand
//	       over fakeTunnels tunnels when asked (and take any)
//	deaf   as ok, but never read the control channel
//	fail   exit 3 without reporting ready
//	slow   never report ready; exit 0 on SIGTERM
//	greet  as ok, and accept on every listening socket the master handed
//	       it, writing "generation N\n" to each client
//	old    as ok, but report ready as a binary that predates the master's
//	       listening sockets does (without taking them)
func TestMain(m *testing.M) {
	if os.Getenv(master.EnvWorker) != "" {
		fakeWorker()
		return
	}
	os.Exit(m.Run())
}

func fakeWorker() {
	w, err := master.FromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		os.Exit(2)
	}
	if w.Spec.Name != "deaf" {
		serveFakeControl(w)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	switch w.Spec.Name {
	case "fail":
		os.Exit(3)
	case "slow":
	default: // "ok", or a name an in-place reload gave the generation
		switch w.Spec.Name {
		case "greet":
			greet(w)
		case "old":
			w.Listeners = nil
		}
		if err := w.Ready(); err != nil {
			os.Exit(4)
		}
	}
	<-sig
	os.Exit(0)
}

// fakeMaster is a master of fake workers, run in this process.
type fakeMaster struct {
	m    *master.Master
	sigs chan os.Signal
	log  *testutil.Buffer
	done chan error

	mu      sync.Mutex
	name    string // the behaviour of the next generation's workers
	loops   int    // the configuration's loops: a change needs a new generation
	loadErr error
	serving [][]string // what Config.Serving was called with
	results []string   // reloads as Config.Reloaded reported them
}

func startMaster(t *testing.T, workers int, name string, readyTimeout time.Duration, opts ...func(*master.Config)) *fakeMaster {
	t.Helper()
	fm := &fakeMaster{sigs: make(chan os.Signal, 1), log: &testutil.Buffer{}, done: make(chan error, 1), name: name}
	cfg := master.Config{
		Load:         fm.load,
		Workers:      workers,
		Logger:       slog.New(slog.NewTextHandler(fm.log, nil)),
		Signals:      fm.sigs,
		ReadyTimeout: readyTimeout,
		Serving: func(listen []string) {
			fm.mu.Lock()
			fm.serving = append(fm.serving, listen)
			fm.mu.Unlock()
		},
		Reloaded: func(result string, version int) {
			fm.mu.Lock()
			fm.results = append(fm.results, fmt.Sprintf("%s %d", result, version))
			fm.mu.Unlock()
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	m, err := master.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fm.m = m
	src, err := fm.load()
	if err != nil {
		t.Fatal(err)
	}
	go func() { fm.done <- m.Run(src) }()
	t.Cleanup(func() {
		select {
		case fm.sigs <- syscall.SIGTERM:
		default:
		}
		select {
		case <-fm.done:
		case <-time.After(10 * time.Second):
			t.Errorf("master did not stop; log:\n%s", fm.log)
		}
	})
	return fm
}

func (fm *fakeMaster) load() (master.Source, error) {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	cfg := &config.Config{Loops: fm.loops, Listen: []config.Listener{{Addr: "127.0.0.1:0"}}}
	return master.Source{Config: cfg, Name: fm.name, Data: []byte("-")}, fm.loadErr
}

// set says what the next reload loads; each call changes loops, so that
// the reload starts a new generation.
func (fm *fakeMaster) set(name string, loadErr error) {
	fm.mu.Lock()
	fm.name, fm.loadErr = name, loadErr
	fm.loops++
	fm.mu.Unlock()
}

// setInPlace is set without a change of loops: the reload applies in place.
func (fm *fakeMaster) setInPlace(name string) {
	fm.mu.Lock()
	fm.name = name
	fm.mu.Unlock()
}

// result waits for Run to return.
func (fm *fakeMaster) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-fm.done:
		fm.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Run did not return; log:\n%s", fm.log)
		return nil
	}
}

func TestMasterRestartsKilledWorker(t *testing.T) {
	fm := startMaster(t, 2, "ok", 0)
	fm.log.WaitMatch(t, `msg="generation serving" generation=1 workers=2`)
	pid := fm.log.WaitMatch(t, `msg="worker ready" worker=1\.1 pid=(\d+)`)[1]
	var n int
	fmt.Sscan(pid, &n)
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	fm.log.WaitMatch(t, `msg="worker exited; restarting" worker=1\.1 pid=`+pid+` status="signal: killed" lived=\S+ in=100ms`)
	fm.log.WaitMatchFunc(t, `msg="worker ready" worker=1\.1 pid=(\d+)`, func(m []string) bool { return m[1] != pid })
	fm.sigs <- syscall.SIGTERM
	if err := fm.result(t); err != nil {
		t.Errorf("Run = %v; want nil", err)
	}
}

func TestMasterReload(t *testing.T) {
	fm := startMaster(t, 2, "ok", 0)
	fm.log.WaitMatch(t, `msg="generation serving" generation=1`)

	fm.set("ok", nil)
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="generation serving" generation=2 workers=2`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=1`)

	fm.set("ok", errors.New("x.yaml:3: routes: bad"))
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="reload refused; .*" err="x.yaml:3: routes: bad"`)

	fm.set("fail", nil)
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="reload abandoned; the previous generation keeps serving" generation=3 serving=2`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=3`)

	fm.set("ok", nil)
	fm.sigs <- syscall.SIGHUP
	fm.log.WaitMatch(t, `msg="generation serving" generation=4`)
	fm.log.WaitMatch(t, `msg="generation finished" generation=2`)
	if strings.Contains(fm.log.String(), "restarting") {
		t.Errorf("a worker was restarted during reloads; log:\n%s", fm.log)
	}
	fm.sigs <- syscall.SIGTERM
	if err := fm.result(t); err != nil {
		t.Errorf("Run = %v; want nil", err)
	}
	// Serving is called for generations 1, 2 and 4, each time with the
	// port the master reserved for port 0 (the refused and the abandoned
	// reloads serve nothing).
	fm.mu.Lock()
	defer fm.mu.Unlock()
	if len(fm.serving) != 3 {
		t.Fatalf("Serving called %d times (%q); want 3", len(fm.serving), fm.serving)
	}
	first := fm.serving[0]
	if len(first) != 1 || !strings.HasPrefix(first[0], "127.0.0.1:") || first[0] == "127.0.0.1:0" {
		t.Fatalf("Serving(%q); want the reserved 127.0.0.1:PORT", first)
	}
	for i, got := range fm.serving[1:] {
		if fmt.Sprint(got) != fmt.Sprint(first) {
			t.Errorf("Serving call %d: %q; want the same address as the first, %q", i+2, got, first)
		}
	}
}

func TestMasterFirstGenerationFails(t *testing.T) {
	for _, tc := range []struct {
		name, behaviour string
		timeout         time.Duration
		want            string
	}{
		{"worker exits", "fail", 0, "exited: exit status 3"},
		{"never ready", "slow", 300 * time.Millisecond, "workers could not start: not all workers ready after 300ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fm := startMaster(t, 2, tc.behaviour, tc.timeout)
			err := fm.result(t)
			if err == nil || !strings.HasPrefix(err.Error(), "workers could not start: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run = %v; want workers could not start: …%s", err, tc.want)
			}
		})
	}
}

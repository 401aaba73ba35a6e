// Package master runs wsproxy as a master process supervising worker
// processes, and gives a worker what its master handed it.
//
// A master starts a generation of N workers by executing its own binary
// again with the same arguments and the environment variable EnvWorker set
// to "GENERATION.SLOT". The master opens the listening sockets, one per
// loop of every worker and per address, all with SO_REUSEPORT so that the
// kernel spreads new connections over them, and hands each worker its
// share (EnvListenFDs); they outlive generations (listeners.go). A worker
// also inherits a pipe on which it writes one line once it is listening
// (readiness), a file holding its generation's Spec
// (the configuration bytes the master validated, the listen addresses,
// with port 0 replaced by a port the master holds, and the secret every
// worker of every generation derives its TLS session-ticket keys from, so
// that any worker resumes the sessions of any other). When the
// configuration has an upstream with balance: sid, a worker also inherits
// the table of Engine.IO sessions that all workers of all generations
// share (internal/sidshm), so that any worker routes a session any other
// learnt. Last, the control channel (internal/control).
//
// The master's life:
//
//	start      load the configuration; start generation 1; exit with an error
//	           if one of its workers exits before all of them are ready
//	serving    a worker that dies is started again in its slot after a delay
//	           (100ms, doubling to 10s; back to 100ms once a worker lived 30s)
//	SIGHUP     load and validate the configuration again; a bad one is logged
//	           and changes nothing. When only what workers change in place
//	           differs, send it to every worker over its control channel
//	           and wait for all to apply it (all or nothing; inplace.go).
//	           Otherwise (listen, workers, loops, admin, or a new binary at
//	           the master's path) start the next generation; once all its
//	           workers are ready, each worker of the previous one hands its
//	           plain WebSocket tunnels to a new worker (handover.go), then
//	           gets SIGTERM and drains what it kept. If a new worker dies
//	           first, the reload is abandoned and the old generation keeps
//	           serving, every tunnel included.
//	SIGUSR2    passed on to every worker: reload TLS certificates in place,
//	           keeping every open connection
//	SIGTERM,   send SIGTERM to every worker (workers drain), and exit once
//	SIGINT     all have exited; a second signal is passed on again, which
//	           makes workers close what is left at once.
//
// Only the goroutine running Master.Run touches the master's state; the
// goroutines watching the workers report to it over a channel.
package master

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"wsproxy/config"
)

// Source is a validated configuration as the master (or a process without
// one) loaded it.
type Source struct {
	// Config is the validated configuration. The master reads Listen and
	// Workers from it.
	Config *config.Config

	// Name and Data are the name and contents of the file Config was
	// parsed from. Workers parse Data themselves, so each serves exactly
	// what the master validated even if the file changes meanwhile. Nil
	// Data means the configuration was built from flags (quick mode), and
	// workers build it from their own flags.
	Name string
	Data []byte
}

// Config configures a Master. Load is required; the zero value of every
// other field means its default.
type Config struct {
	// Load reads and validates the configuration. Run calls it on every
	// SIGHUP; an error refuses the reload and leaves the workers alone.
	Load func() (Source, error)

	// Workers, when positive, overrides the configuration's worker count
	// (the -workers flag). Zero: Source.Config.Workers.
	Workers int

	// Loops, when positive, is the loops per worker the workers run with
	// whatever the configuration says (the -loops flag, which they get in
	// Args): the master opens one listening socket per loop (listeners.go).
	Loops int

	// Path is the executable started for each worker. Empty: the master's
	// own executable, as os.Executable reports it when New is called, so
	// that a binary replaced on disk is what the next generation runs.
	Path string

	// Args are the workers' arguments, without the program name.
	Args []string

	// Env is the workers' environment, to which EnvWorker is added. Nil:
	// the master's environment.
	Env []string

	// Stdout and Stderr receive the workers' output. Nil: the master's.
	Stdout, Stderr *os.File

	// Logger receives the master's messages. Nil: slog.Default().
	Logger *slog.Logger

	// Signals, when set, replaces the signals the master reacts to (SIGHUP,
	// SIGTERM and SIGINT sent to this process); tests use it. Nil: the
	// process's signals.
	Signals <-chan os.Signal

	// ReadyTimeout bounds how long a new generation may take until all its
	// workers are ready; after it, the generation is given up. Zero: 30s.
	ReadyTimeout time.Duration

	// DrainLimit returns how long a worker takes at most to stop with the
	// given drain_timeout (core.DrainLimit); the master says so once when
	// told to stop. Nil: the drain_timeout itself.
	DrainLimit func(drainTimeout time.Duration) time.Duration

	// Serving, when set, is called each time a generation starts serving
	// (the first one, then each reload), with the addresses its workers
	// listen on: the configuration's, with the port the master reserved
	// in place of each port 0. It runs on the master's goroutine, before
	// the previous generation is told to drain: it must not block.
	Serving func(listen []string)

	// Handover, when set, counts the tunnels old workers handed over to
	// a new generation and kept, for the master's metrics.
	Handover *HandoverCounts

	// HandoverTimeout bounds the wait for an old worker's hand-over to a
	// new one (handover.go); after it the old worker is told to drain.
	// Zero: 30s.
	HandoverTimeout time.Duration

	// Reloaded, when set, is told the result of every reload (Reload*
	// constants) and the number of the configuration now served (1 at
	// start, one more per reload applied or generation started), for
	// metrics. It runs on the master's goroutine and must not block.
	Reloaded func(result string, version int)

	// SidTableSize is the number of entries of the Engine.IO sid table the
	// workers share (internal/sidshm), rounded up to a power of two; it is
	// fixed when the first configuration with balance: sid is loaded. Zero:
	// balance.DefaultSidTableSize, 2^18 entries in 6 MiB.
	SidTableSize int
}

// Master supervises generations of worker processes. Create it with New
// and call Run once.
type Master struct {
	cfg    Config
	log    *slog.Logger
	events chan event
	done   chan struct{} // closed when Run returns

	gens         []*generation // every generation with a live worker, oldest first
	cur, next    *generation   // serving; starting (nil unless a start or reload is under way)
	last         int           // number of the newest generation
	ports        map[string]*reservation
	socks        map[string][]*lsock // listening sockets by address (listeners.go)
	sids         *os.File            // the shared sid table, once a configuration needs it (sidtable.go)
	ticketSecret []byte              // Spec.TicketSecret, made once in New
	stopping     bool
	err          error // why Run will fail, if it will

	applying bool // an in-place reload is under way (inplace.go)
	pending  bool // a SIGHUP came meanwhile: reload again once it is over
	version  int  // the configuration served: 1, then one more per reload applied
}

// New checks cfg and fills in its defaults.
func New(cfg Config) (*Master, error) {
	if cfg.Load == nil {
		return nil, errors.New("master: Config.Load is nil")
	}
	if cfg.Path == "" {
		p, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("master: cannot find own executable: %w", err)
		}
		cfg.Path = p
	}
	if cfg.Env == nil {
		cfg.Env = os.Environ()
	}
	if cfg.Stdout == nil {
		cfg.Stdout = os.Stdout
	}
	if cfg.Stderr == nil {
		cfg.Stderr = os.Stderr
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	if cfg.HandoverTimeout <= 0 {
		cfg.HandoverTimeout = defaultHandoverTimeout
	}
	m := &Master{cfg: cfg, log: cfg.Logger, events: make(chan event), done: make(chan struct{}),
		ports: make(map[string]*reservation), socks: make(map[string][]*lsock), ticketSecret: make([]byte, 32)}
	rand.Read(m.ticketSecret) // never fails (crypto/rand since Go 1.24)
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

// Run starts the first generation from src and supervises the workers
// until they have all exited after SIGTERM or SIGINT. It returns an error
// when the first generation could not start.
func (m *Master) Run(src Source) error {
	// Workers get SIGTERM when the thread that started them ends
	// (Pdeathsig on Linux), so every worker is started from this goroutine,
	// kept on one thread for as long as workers may run.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(m.done)
	defer m.closePorts()
	defer m.closeSidTable()

	sigs := m.cfg.Signals
	if sigs == nil {
		c := make(chan os.Signal, 4)
		signal.Notify(c, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR2)
		defer signal.Stop(c)
		sigs = c
	}

	if err := m.startGeneration(src); err != nil && m.live() == 0 {
		return err
	}
	m.version = 1
	m.reloaded("")
	// If the first generation failed part way, abandon has told the
	// workers already started to stop; wait for them before returning.
	for !m.stopping || m.live() > 0 {
		select {
		case s := <-sigs:
			m.onSignal(s)
		case ev := <-m.events:
			m.onEvent(ev)
		}
	}
	return m.err
}

// onSignal handles a signal sent to the master.
func (m *Master) onSignal(s os.Signal) {
	switch {
	case s == syscall.SIGUSR2:
		m.log.Info("reloading certificates in every worker", "workers", m.live())
		m.signalAll(syscall.SIGUSR2)
	case s == syscall.SIGHUP && m.stopping:
		m.log.Warn("SIGHUP ignored: stopping")
	case s == syscall.SIGHUP:
		m.reload()
	case !m.stopping:
		// One line for whoever pressed Ctrl-C: the workers drain, each
		// exiting as soon as its last connection is gone.
		m.log.Info(fmt.Sprintf("stopping: workers drain, up to %s; a second Ctrl-C or SIGTERM closes every connection at once",
			m.drainLimit()), "signal", s.String(), "workers", m.live())
		m.stop()
	default:
		m.log.Info("stopping now: workers close their connections", "signal", s.String(), "workers", m.live())
		m.signalAll(syscall.SIGTERM)
	}
}

// reload loads the configuration again and applies it in place, or
// starts the next generation when that cannot be done (inplace.go).
func (m *Master) reload() {
	if m.applying {
		m.pending = true
		return
	}
	src, err := m.cfg.Load()
	if err != nil {
		m.log.Error("reload refused; the workers keep serving the previous configuration", "err", err)
		m.reloaded(ReloadRefused)
		return
	}
	d, ok := m.inPlace(src)
	if ok {
		m.applying = true
		m.log.Info("applying the configuration in place", "generation", m.cur.n, "workers", len(m.cur.workers))
		go m.applyInPlace(m.cur, src, d)
		return
	}
	if len(d.Generation) > 0 {
		m.log.Info("reload needs a new generation", "changed", strings.Join(d.Generation, ","))
	}
	if g := m.next; g != nil {
		m.log.Warn("reload supersedes a generation still starting", "generation", g.n)
		m.retire(g)
		m.next = nil
		m.prunePorts() // what only it used; the next generation takes the rest again
	}
	if err := m.startGeneration(src); err != nil {
		m.log.Error("reload failed; the workers keep serving the previous configuration", "err", err)
		m.reloaded(ReloadRefused)
		return
	}
	m.version++
	m.reloaded(ReloadGeneration)
}

// drainLimit is how long the live workers take at most to drain, by the
// drain_timeout of their generations.
func (m *Master) drainLimit() time.Duration {
	var d time.Duration
	for _, g := range m.gens {
		d = max(d, g.drain)
	}
	if m.cfg.DrainLimit != nil {
		d = m.cfg.DrainLimit(d)
	}
	return d.Round(time.Second)
}

// stop tells every worker to drain and stops replacing workers.
func (m *Master) stop() {
	m.stopping = true
	m.closeSockets() // the draining workers close theirs: new connections are refused
	m.signalAll(syscall.SIGTERM)
}

// signalAll sends s to every live worker.
func (m *Master) signalAll(s os.Signal) {
	for _, g := range m.gens {
		g.signal(s, m.log)
	}
}

// live counts the worker processes that have not exited.
func (m *Master) live() int {
	n := 0
	for _, g := range m.gens {
		n += g.live()
	}
	return n
}

package core

import (
	"golang.org/x/sys/unix"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"wsproxy/codec"
	"wsproxy/internal/timer"
	"wsproxy/poller"
)

// handler receives the readiness events of one descriptor. Every handler is
// owned by one Loop and called only from its goroutine.
type handler interface {
	onEvent(ev poller.Event)
}

// Loop is one event loop: a poller, the descriptors registered with it, a
// shared read buffer and a timer wheel. Its state is touched only by the
// goroutine running Run; other goroutines use Submit.
type Loop struct {
	id       int
	p        *poller.Poller
	handlers []handler // indexed by descriptor
	buf      []byte    // shared read buffer; contents valid until the next read
	wheel    *timer.Wheel
	now      time.Time // refreshed once per poll cycle, before the first event is handled
	stale    bool      // now predates the current poll cycle's events
	srv      *Server   // nil for loops that only run echo backends or tools
	log      *slog.Logger

	obs *loopMetrics // this loop's counters (metrics.go); nil without srv

	mu    sync.Mutex // guards tasks and stopped
	tasks []func()
	spare []func()

	stopped bool
	done    chan struct{}

	idle  idlePool // parked upstream connections, by server
	pipes pipePool // pipes for splicing tunnel payload (splice.go)
	conns int      // live client connections on this loop

	// Scratch space for the connection being handled; valid only during
	// one event callback.
	req    codec.Request
	resp   codec.Response
	hbuf   []byte // heads being written
	pbuf   []byte // rewritten request target
	ipbuf  []byte // client address text
	xbuf   []byte // X-Forwarded-For so far
	fbuf   []byte // Forwarded so far (from a trusted peer)
	npath  []byte // the normalised request path, when it differs
	breq   balanceRequest
	freeX  *exchange // free list of exchanges (exchange.go)
	nfreeX int
	client netip.Addr // the request's client address (after trusted_proxies)
}

// newLoop makes a Loop with a read buffer of bufSize bytes.
func newLoop(id, bufSize int) (*Loop, error) {
	p, err := poller.New()
	if err != nil {
		return nil, err
	}
	l := &Loop{
		id:    id,
		p:     p,
		buf:   make([]byte, bufSize),
		wheel: timer.New(100*time.Millisecond, 1024),
		now:   time.Now(),
		done:  make(chan struct{}),
		log:   slog.Default(),
	}
	l.idle.init()
	l.pipes.init()
	l.handlers = make([]handler, fdTableSize())
	l.hbuf = make([]byte, 0, 4096)
	l.pbuf = make([]byte, 0, 1024)
	l.ipbuf = make([]byte, 0, 64)
	l.xbuf = make([]byte, 0, 256)
	l.fbuf = make([]byte, 0, 256)
	l.npath = make([]byte, 0, 256)
	return l, nil
}

// register adds fd with interest ev and routes its events to h.
func (l *Loop) register(fd int, h handler, ev poller.Event) error {
	for fd >= len(l.handlers) {
		n := 2 * len(l.handlers)
		if n < 1024 {
			n = 1024
		}
		for n <= fd {
			n *= 2
		}
		hs := make([]handler, n)
		copy(hs, l.handlers)
		l.handlers = hs
	}
	if err := l.p.Add(fd, ev); err != nil {
		return err
	}
	l.handlers[fd] = h
	return nil
}

// unregister removes fd from the poller and the handler table; it does not
// close fd.
func (l *Loop) unregister(fd int) {
	if fd >= 0 && fd < len(l.handlers) && l.handlers[fd] != nil {
		l.handlers[fd] = nil
		_ = l.p.Delete(fd)
	}
}

// Submit queues f to run on the loop's goroutine and wakes the loop. It is the
// only way for another goroutine to touch the loop's state. It reports false
// when the loop has stopped and f will not run.
func (l *Loop) Submit(f func()) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	l.tasks = append(l.tasks, f)
	first := len(l.tasks) == 1
	l.mu.Unlock()
	if first {
		_ = l.p.Wake()
	}
	return true
}

func (l *Loop) runTasks() {
	l.mu.Lock()
	tasks := l.tasks
	l.tasks = l.spare[:0]
	l.mu.Unlock()
	for i, f := range tasks {
		f()
		tasks[i] = nil
	}
	l.spare = tasks
}

func (l *Loop) dispatch(fd int, ev poller.Event) {
	if l.stale {
		// Wait may have blocked for a long time: timers armed by these
		// events must count from now, not from before the wait.
		l.now = time.Now()
		l.stale = false
	}
	if fd < len(l.handlers) {
		if h := l.handlers[fd]; h != nil {
			h.onEvent(ev)
		}
	}
}

func (l *Loop) fire(e *timer.Entry) {
	if h, ok := e.Owner.(timerOwner); ok {
		h.onTimer()
	}
}

// timerOwner is implemented by what schedules a timer.Entry with Owner set.
type timerOwner interface{ onTimer() }

// Run polls until Stop is called. It returns the first poller error.
func (l *Loop) Run() error {
	defer close(l.done)
	housekeeping := &timer.Entry{}
	hk := housekeeper{l: l, e: housekeeping}
	housekeeping.Owner = &hk
	l.wheel.Schedule(housekeeping, l.now.Add(time.Second))
	for {
		timeout := l.wheel.Next(l.now)
		l.stale = true
		if _, err := l.p.Wait(timeout, l.dispatch); err != nil {
			return err
		}
		l.now = time.Now()
		l.runTasks()
		l.mu.Lock()
		stopped := l.stopped
		l.mu.Unlock()
		if stopped {
			l.runTasks()
			l.idle.closeAll(l)
			l.closeAll()
			l.pipes.closeAll()
			return nil
		}
		l.wheel.Advance(l.now, l.fire)
	}
}

// housekeeper runs once a second: it evicts stale idle upstream connections
// and drops the empty input buffers of TLS connections (tls_trim.go).
type housekeeper struct {
	l *Loop
	e *timer.Entry
}

func (h *housekeeper) onTimer() {
	h.l.idle.evict(h.l, h.l.now)
	h.l.trimTLS()
	h.l.wheel.Schedule(h.e, h.l.now.Add(time.Second))
}

// Stop asks the loop to close every descriptor it owns and return from Run.
// It does not wait; use Wait.
func (l *Loop) Stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	_ = l.p.Wake()
}

// Wait blocks until Run has returned.
func (l *Loop) Wait() { <-l.done }

// closer is implemented by handlers that can be force-closed at shutdown.
type closer interface{ shutdown() }

func (l *Loop) closeAll() {
	for fd, h := range l.handlers {
		if h == nil {
			continue
		}
		if c, ok := h.(closer); ok {
			c.shutdown()
		}
		if l.handlers[fd] != nil {
			l.unregister(fd)
			closeFD(fd)
		}
	}
	_ = l.p.Close()
}

// fdTableSize sizes a loop's descriptor table from the soft open-files
// limit, so it never grows (growing by doubling left the old copies as
// garbage after every burst of connections). The pages of the table that
// no descriptor reaches are never touched and cost no memory.
func fdTableSize() int {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY {
		return 1 << 16
	}
	return int(min(max(rl.Cur, 1024), 1<<20))
}

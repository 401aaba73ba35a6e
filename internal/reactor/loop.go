package reactor

import (
	"log/slog"
	"sync"
	"time"

	"wsproxy/internal/sock"
	"wsproxy/internal/timer"
	"wsproxy/poller"
)

// Handler receives the readiness events of one descriptor. Every handler
// is owned by one Loop and called only from its goroutine.
type Handler interface {
	OnEvent(ev poller.Event)
}

// TimerOwner is what a timer.Entry's Owner must be for the Loop to fire
// it: OnTimer runs on the loop's goroutine.
type TimerOwner interface{ OnTimer() }

// Shutdowner is implemented by handlers that tidy up when the loop stops
// (close a connection and what it owns). Run calls it before closing the
// descriptors still registered.
type Shutdowner interface{ Shutdown() }

// Loop is one event loop: a poller, the descriptors registered with it, a
// shared read buffer and a timer wheel. Its state is touched only by the
// goroutine running Run; other goroutines use Submit. Init it in place
// (the zero value is not ready): it is meant to be embedded by value.
type Loop struct {
	ID    int
	Buf   []byte // shared read buffer; contents valid until the next read
	Wheel *timer.Wheel
	Now   time.Time // refreshed once per poll cycle, before the first event is handled
	Log   *slog.Logger

	// OnStop and OnStopped, if set, run on the loop's goroutine when it
	// stops: before the handlers are shut down and their descriptors
	// closed, and after.
	OnStop, OnStopped func()

	// Sends batches the loop's small writes into one system call per
	// cycle (sends.go); without InitSends it declines every one.
	Sends      Sends
	afterBatch func() // SetPrefetch's after

	p        *poller.Poller
	handlers []Handler // indexed by descriptor
	top      int       // the highest descriptor ever registered (Slots)
	stale    bool      // Now predates the current poll cycle's events

	// later and laterSpare are Later's queue: the loop's own, no lock.
	later, laterSpare []func()

	mu      sync.Mutex // guards tasks and stopped
	tasks   []func()
	spare   []func()
	stopped bool
	done    chan struct{}
}

// Init makes l ready with a read buffer of bufSize bytes.
func (l *Loop) Init(id, bufSize int) error {
	p, err := poller.New()
	if err != nil {
		return err
	}
	*l = Loop{
		ID:       id,
		p:        p,
		Buf:      make([]byte, bufSize),
		Wheel:    timer.New(100*time.Millisecond, 1024),
		Now:      time.Now(),
		done:     make(chan struct{}),
		Log:      slog.Default(),
		handlers: make([]Handler, fdTableSize()),
	}
	return nil
}

// Register adds fd with interest ev and routes its events to h.
func (l *Loop) Register(fd int, h Handler, ev poller.Event) error {
	for fd >= len(l.handlers) {
		n := max(2*len(l.handlers), 1024)
		for n <= fd {
			n *= 2
		}
		hs := make([]Handler, n)
		copy(hs, l.handlers)
		l.handlers = hs
	}
	if err := l.p.Add(fd, ev); err != nil {
		return err
	}
	l.handlers[fd] = h
	l.top = max(l.top, fd)
	return nil
}

// Handler returns fd's handler (nil if none).
func (l *Loop) Handler(fd int) Handler {
	if fd >= 0 && fd < len(l.handlers) {
		return l.handlers[fd]
	}
	return nil
}

// Slots bounds the descriptors registered so far: every one is below it
// (the highest ever registered, plus one; the kernel gives out the lowest
// free descriptor, so it follows the peak of open ones).
func (l *Loop) Slots() int { return l.top + 1 }

// SetPrefetch makes f see each batch of two or more events before they
// are handled (poller.Poller.Prefetch), and after it runs each time a
// batch has been handled, before the batch's sends go out.
func (l *Loop) SetPrefetch(f func([]poller.Ready), after func()) {
	l.p.Prefetch = f
	l.afterBatch = after
}

// Modify changes fd's interest.
func (l *Loop) Modify(fd int, ev poller.Event) error { return l.p.Modify(fd, ev) }

// Unregister removes fd from the poller and the handler table; it does not
// close fd.
func (l *Loop) Unregister(fd int) {
	if fd >= 0 && fd < len(l.handlers) && l.handlers[fd] != nil {
		l.handlers[fd] = nil
		_ = l.p.Delete(fd) // fails only if fd was closed already: nothing to undo
	}
}

// Each calls f for every registered handler, in descriptor order. f may
// unregister handlers, its own included. It runs on the loop's goroutine.
func (l *Loop) Each(f func(fd int, h Handler)) {
	for fd, h := range l.handlers[:l.top+1] {
		if h != nil {
			f(fd, h)
		}
	}
}

// Schedule arms e to fire after d.
func (l *Loop) Schedule(e *timer.Entry, d time.Duration) { l.Wheel.Schedule(e, l.Now.Add(d)) }

// Submit queues f to run on the loop's goroutine and wakes the loop. It is
// the only way for another goroutine to touch the loop's state. It reports
// false when the loop has stopped and f will not run.
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
		_ = l.p.Wake() // an eventfd write fails only when it is closed: the loop has stopped
	}
	return true
}

// Later queues f to run on the loop once the events of the current poll
// cycle are handled, before the loop waits again; it is Submit for the
// loop's own goroutine, and costs no wake-up. Submit from the loop itself
// would write the poller's eventfd (a system call, and one that wakes the
// Go runtime's sysmon thread out of its deep sleep: entersyscall does)
// only to read it back in the next poll. Call it only from the loop's
// goroutine.
func (l *Loop) Later(f func()) { l.later = append(l.later, f) }

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
	// What the tasks queue with Later waits for the next cycle, whose
	// poll then does not block (Run).
	later := l.later
	l.later = l.laterSpare[:0]
	for i, f := range later {
		f()
		later[i] = nil
	}
	l.laterSpare = later
}

func (l *Loop) dispatch(fd int, ev poller.Event) {
	if l.stale {
		// Wait may have blocked for a long time: timers armed by these
		// events must count from now, not from before the wait.
		l.Now = time.Now()
		l.stale = false
	}
	if fd < len(l.handlers) {
		if h := l.handlers[fd]; h != nil {
			h.OnEvent(ev)
		}
	}
}

func fire(e *timer.Entry) {
	if h, ok := e.Owner.(TimerOwner); ok {
		h.OnTimer()
	}
}

// Run polls until Stop is called, or until the poller fails, and returns
// that error. Either way it then stops as Stop asks: Submit refuses work
// from then on, and what the loop owns is shut down and closed rather
// than left deaf.
func (l *Loop) Run() error {
	defer close(l.done)
	defer l.Sends.Close()
	err := l.p.Serve(l.between, l.dispatch)
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	if l.afterBatch != nil {
		l.afterBatch()
	}
	l.runTasks()
	if l.OnStop != nil {
		l.OnStop()
	}
	l.Sends.Flush()
	l.closeAll()
	if l.OnStopped != nil {
		l.OnStopped()
	}
	return err
}

// between is the loop's work between two polls: the sends of the cycle
// (Sends), the tasks submitted, the timers due, and how long the next poll may wait (zero when Later queued
// work: look, do not wait). It reports stop once Stop was called.
func (l *Loop) between() (time.Duration, bool) {
	if l.afterBatch != nil {
		l.afterBatch()
	}
	l.Sends.Flush() // what the events just handled wrote
	l.Now = time.Now()
	l.runTasks()
	l.mu.Lock()
	stopped := l.stopped
	l.mu.Unlock()
	if stopped {
		return 0, true
	}
	l.Wheel.Advance(l.Now, fire)
	l.Sends.Flush() // what the tasks and timers wrote
	timeout := l.Wheel.Next(l.Now)
	if len(l.later) > 0 {
		timeout = 0
	}
	l.stale = true
	return timeout, false
}

// Drained tells the poller that the event being handled left its
// descriptor with nothing ready (poller.Poller.Drained): the loop may wait
// again without looking first.
func (l *Loop) Drained() { l.p.Drained() }

// Stop asks the loop to close every descriptor it owns and return from
// Run. It does not wait; use Wait.
func (l *Loop) Stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
	_ = l.p.Wake()
}

// Wait blocks until Run has returned.
func (l *Loop) Wait() { <-l.done }

// Done is closed when Run has returned.
func (l *Loop) Done() <-chan struct{} { return l.done }

// Close releases the poller of a loop that never ran (Run closes it).
func (l *Loop) Close() error {
	l.Sends.Close()
	return l.p.Close()
}

func (l *Loop) closeAll() {
	for fd, h := range l.handlers[:l.top+1] {
		if h == nil {
			continue
		}
		if s, ok := h.(Shutdowner); ok {
			s.Shutdown()
		}
		if l.handlers[fd] != nil {
			l.Unregister(fd)
			CloseFD(fd)
		}
	}
	_ = l.p.Close()
}

// CloseFD closes fd if it is one (≥ 0). A close error means nothing to a
// non-blocking socket's owner: the descriptor is gone either way.
func CloseFD(fd int) {
	if fd >= 0 {
		_ = sock.Close(fd)
	}
}

// fdTableSize sizes a loop's descriptor table from the soft open-files
// limit, so it never grows (growing by doubling left the old copies as
// garbage after every burst of connections). The pages of the table that
// no descriptor reaches are never touched and cost no memory.
func fdTableSize() int {
	n, ok := sock.FileLimit()
	if !ok {
		return 1 << 16
	}
	return min(max(n, 1024), 1<<20)
}

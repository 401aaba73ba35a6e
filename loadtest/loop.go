package loadtest

import (
	crand "crypto/rand"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/sock"
	"wsproxy/internal/timer"
	"wsproxy/poller"
)

// Tuning of a loop. The wheel resolves echo send times to 250 µs: with
// 2 ms, every send due in a slot left at once, 10 of them per slot at
// 5,000 round trips/s, and each waited behind the others in the load
// generator, the proxy and the backend (BENCHMARKS.md, "Echo RTT: the load
// generator's 2 ms waves"). One revolution (4 s) covers usual intervals,
// longer ones still fire on time.
const (
	wheelTick   = 250 * time.Microsecond
	wheelSlots  = 16384
	bufSize     = 64 << 10 // shared read and write buffers, per loop
	dialBurst   = 64       // dials per iteration, so events are not starved
	maxPending  = 1024     // handshakes in flight per process when Rate is 0
	closeWait   = time.Second
	maxRespHead = 16 << 10 // a 101 response head longer than this is refused
)

// phase is where a loop (and Run) is in the run; see the package doc.
type phase int32

const (
	phaseRamp phase = iota
	phaseReady
	phaseRun
	phaseClose
	phaseDone
)

var phaseNames = [...]string{"ramp", "ready", "run", "close", "done"}

func (p phase) String() string { return phaseNames[p] }

// command is what Run sends a loop through its wake-up queue: start the
// run phase until the given time, or (start false) close everything.
type command struct {
	start bool
	until time.Time
}

// counters are a loop's running totals. The loop writes them; Progress
// reads them from another goroutine, hence the atomics.
type counters struct {
	dialed, up, failed, dropped, msgs, bytes atomic.Int64
}

// loop is one event loop: a goroutine owning a poller, a timing wheel and
// every connection it dialled. Only its goroutine touches its fields,
// except mu/cmds (the wake-up queue) and cnt.
type loop struct {
	pl      *plan
	p       *poller.Poller
	wheel   *timer.Wheel
	conns   []*conn // indexed by descriptor
	rbuf    []byte
	wbuf    []byte
	resp    codec.Response
	accept  [32]byte
	rng     *rand.Rand
	onEvent func(fd int, ev poller.Event)
	onTimer func(*timer.Entry)

	epoch time.Time
	now   time.Time
	mono  int64 // now - epoch in ns, the clock of conn timestamps
	stale bool  // now predates the events being dispatched

	quota, dialed, pending, live int
	maxPending                   int
	rate                         float64 // dials per second; 0: unpaced
	sources                      []netip.Addr
	nextSrc                      int

	phase     phase
	until     time.Time // end of the run phase, then of the close wait
	runEnd    time.Time
	ready     chan<- struct{}
	signalled bool

	mu   sync.Mutex
	cmds []command

	cnt                      counters
	hs, first, rtt           *hdrhistogram.Histogram
	failReasons, dropReasons map[string]int
}

// newHist returns a histogram of microseconds from 1 µs to 10 minutes
// with three significant digits.
func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 600e6, 3) }

// newLoop prepares a loop that dials quota connections at rate per second
// from sources, starting at source index first.
func newLoop(pl *plan, quota int, rate float64, pending int, sources []netip.Addr, first int, ready chan<- struct{}) (*loop, error) {
	p, err := poller.New()
	if err != nil {
		return nil, err
	}
	var seed [32]byte
	crand.Read(seed[:])
	l := &loop{
		pl: pl, p: p, wheel: timer.New(wheelTick, wheelSlots),
		rbuf: make([]byte, bufSize), wbuf: make([]byte, bufSize),
		rng:   rand.New(rand.NewChaCha8(seed)),
		epoch: time.Now(),
		quota: quota, rate: rate, maxPending: pending,
		sources: sources, nextSrc: first,
		ready: ready,
		hs:    newHist(), first: newHist(), rtt: newHist(),
		failReasons: map[string]int{}, dropReasons: map[string]int{},
	}
	l.onEvent = l.event
	l.onTimer = func(e *timer.Entry) { e.Owner.(*conn).timer(e) }
	return l, nil
}

// post queues cmd for the loop and wakes it. It is the only method that
// other goroutines may call.
func (l *loop) post(cmd command) {
	l.mu.Lock()
	l.cmds = append(l.cmds, cmd)
	l.mu.Unlock()
	l.p.Wake()
}

// run is the loop's goroutine. It returns when every connection is closed
// after the close phase, or on a poller error, having closed them all.
func (l *loop) run() error {
	defer l.p.Close()
	l.clock()
	rampStart := l.now
	for {
		l.wheel.Advance(l.now, l.onTimer)
		l.step(rampStart)
		if l.phase == phaseDone {
			return nil
		}
		l.stale = true
		woke, err := l.p.Wait(l.waitTime(rampStart), l.onEvent)
		if err != nil {
			l.beginClose()
			l.finish()
			return err
		}
		l.clock()
		if woke {
			l.drain()
		}
	}
}

// clock reads the time once for what follows: timers, sends, receipts.
func (l *loop) clock() {
	l.now, l.stale = time.Now(), false
	l.mono = int64(l.now.Sub(l.epoch))
}

// step dials during the ramp and moves the loop through its phases, as
// many as are over already (a run with nothing left to close ends here).
func (l *loop) step(rampStart time.Time) {
	for {
		p := l.phase
		switch p {
		case phaseRamp:
			l.dial(rampStart)
			if l.dialed == l.quota && l.pending == 0 {
				l.phase = phaseReady
				l.signalReady()
			}
		case phaseRun:
			if !l.now.Before(l.until) || l.live == 0 {
				l.beginClose()
			}
		case phaseClose:
			if l.live == 0 || !l.now.Before(l.until) {
				l.finish()
			}
		}
		if p == l.phase || l.phase == phaseReady {
			return
		}
	}
}

// signalReady tells Run, once, that this loop's ramp is over.
func (l *loop) signalReady() {
	if !l.signalled {
		l.signalled = true
		l.ready <- struct{}{}
	}
}

// waitTime is the poll timeout: until the next timer, dial or phase end.
func (l *loop) waitTime(rampStart time.Time) time.Duration {
	d := l.wheel.Next(l.now)
	limit := func(t time.Duration) {
		if d < 0 || t < d {
			d = max(t, 0)
		}
	}
	switch l.phase {
	case phaseRamp:
		if l.dialed < l.quota && l.pending < l.maxPending {
			if l.rate > 0 {
				limit(l.dialTime(rampStart, l.dialed).Sub(l.now))
			} else {
				limit(0)
			}
		}
	case phaseRun, phaseClose:
		limit(l.until.Sub(l.now))
	}
	return d
}

func (l *loop) dialTime(rampStart time.Time, i int) time.Time {
	return rampStart.Add(time.Duration(float64(i) / l.rate * float64(time.Second)))
}

// dial starts the connections that are due, a burst at most.
func (l *loop) dial(rampStart time.Time) {
	for range dialBurst {
		if l.dialed == l.quota || l.pending >= l.maxPending ||
			l.rate > 0 && l.now.Before(l.dialTime(rampStart, l.dialed)) {
			return
		}
		var laddr netip.AddrPort
		if len(l.sources) > 0 {
			laddr = netip.AddrPortFrom(l.sources[l.nextSrc], 0)
			l.nextSrc = (l.nextSrc + 1) % len(l.sources)
		}
		l.dialed++
		l.cnt.dialed.Add(1)
		var fd int
		var err error
		if l.pl.tls != nil {
			fd, err = dialTLS(l.pl, laddr)
		} else {
			fd, err = sock.Connect(l.pl.addr, laddr)
		}
		if err != nil {
			l.fail(reason(err))
			continue
		}
		if err := l.p.Add(fd, poller.Writable); err != nil {
			unix.Close(fd)
			l.fail(reason(err))
			continue
		}
		c := &conn{l: l, fd: fd, ev: poller.Writable, tr: l.pl.newTransport(), dialAt: l.mono, seed: l.rng.Uint64()}
		c.deadline.Owner, c.tick.Owner = c, c
		for fd >= len(l.conns) {
			l.conns = append(l.conns, nil)
		}
		l.conns[fd] = c
		l.pending++
		l.live++
		l.at(&c.deadline, l.mono+l.pl.timeout)
	}
}

// at schedules e at loop clock ns.
func (l *loop) at(e *timer.Entry, ns int64) { l.wheel.Schedule(e, l.epoch.Add(time.Duration(ns))) }

// event dispatches one readiness report from the poller.
func (l *loop) event(fd int, ev poller.Event) {
	if l.stale {
		l.clock()
	}
	if fd >= len(l.conns) || l.conns[fd] == nil {
		return // closed earlier in this batch
	}
	c := l.conns[fd]
	if c.state == stDialing {
		c.connected(ev)
		return
	}
	if ev&(poller.Readable|poller.Hangup|poller.Error) != 0 {
		if c.readable(); c.fd < 0 {
			return
		}
	}
	if ev&poller.Writable != 0 {
		c.flush()
	}
}

// drain runs the commands queued by post.
func (l *loop) drain() {
	l.mu.Lock()
	cmds := l.cmds
	l.cmds = nil
	l.mu.Unlock()
	for _, cmd := range cmds {
		switch {
		case l.phase >= phaseClose:
		case cmd.start && l.phase == phaseReady:
			l.phase, l.until = phaseRun, cmd.until
			for _, c := range l.conns {
				if c != nil && c.state == stUp {
					c.begin()
				}
			}
		default:
			l.beginClose()
		}
	}
}

// beginClose ends the ramp or run phase: connections not yet up fail as
// canceled, up ones get a close frame and closeWait to finish.
func (l *loop) beginClose() {
	if l.phase == phaseRun {
		l.runEnd = l.now
	}
	l.phase, l.until = phaseClose, l.now.Add(closeWait)
	for _, c := range l.conns {
		if c != nil {
			c.shutdown()
		}
	}
	l.signalReady()
}

// finish closes what is left and ends the loop.
func (l *loop) finish() {
	for _, c := range l.conns {
		if c != nil {
			c.close()
		}
	}
	l.phase = phaseDone
	l.signalReady()
}

func (l *loop) fail(why string) {
	l.cnt.failed.Add(1)
	l.failReasons[why]++
}

func (l *loop) drop(why string) {
	l.cnt.dropped.Add(1)
	l.dropReasons[why]++
}

// record adds a latency in ns to h in microseconds, clamped to its range.
func record(h *hdrhistogram.Histogram, ns int64) {
	h.RecordValue(min(max(ns/1000, 1), h.HighestTrackableValue()))
}

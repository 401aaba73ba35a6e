package metrics

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// The live counters a proxy process reads into a Snapshot.
//
// Every loop of the proxy owns one Loop and is the only writer of it; the
// counters are atomics so that a snapshot can read them from another
// goroutine and sum them over the loops. Each route and upstream server
// points to its counters (Route, Server), one set per loop, so counting
// costs a slice index and an atomic add: no map lookup, no lock, no
// allocation. Counters belong to a name, not to a configuration: the route
// or server of the same name after a reload counts on. core increments
// them (its hooks on a connection); this package makes and sums them.

// Handshake results, the index of RouteLoop.Handshakes.
const (
	HandshakeUpgraded = iota // the upstream answered 101
	HandshakeRejected        // the upstream answered something else
	HandshakeFailed          // the proxy answered 4xx/5xx itself
	NumHandshakeResults
)

// Who closed a tunnel first, the index of Loop.ClosedBy.
const (
	CloserUnknown uint8 = iota
	CloserClient
	CloserUpstream
	CloserProxy
	NumClosers
)

// ConnectBuckets are the upper bounds of the upstream connect latency
// histogram; a last bucket takes what is slower.
var ConnectBuckets = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

// CloseCodeSlots is how many distinct Close codes each loop counts per
// direction; further codes are counted together as "other".
const CloseCodeSlots = 32

// Loop are the counters of one loop (see above).
type Loop struct {
	Bytes    [2]atomic.Uint64 // tunnel bytes by direction (0 client → upstream)
	Messages [2]atomic.Uint64 // tunnel messages by direction
	ClosedBy [NumClosers]atomic.Uint64
	// PollErrors counts epoll_ctl failures on a registered descriptor
	// (the connection is closed); WriteErrors writes of the proxy's own
	// frames that failed (the connection is closing anyway).
	PollErrors, WriteErrors atomic.Uint64
	// ProxyCloses counts the tunnels the proxy closed on its own, by
	// rule: rule r (from 1) has the label CloseReasons[r-1].
	ProxyCloses [len(CloseReasons) + 1]atomic.Uint64
	Codes       [2]CloseCodes // Close frames by direction
}

// RouteLoop are one loop's counters of a route, padded to two cache lines
// so that loops do not share one.
type RouteLoop struct {
	Requests   [6]atomic.Uint64 // plain HTTP requests by status/100; [0] a status outside 100..599
	Handshakes [NumHandshakeResults]atomic.Uint64
	Tunnels    atomic.Int64 // open now
	_          [48]byte
}

// ServerLoop are one loop's counters of a server, padded to three cache
// lines.
type ServerLoop struct {
	Connect    [len(ConnectBuckets) + 1]atomic.Uint64 // connect latencies by bucket
	ConnectSum atomic.Int64                           // nanoseconds
	_          [56]byte
}

// Route are the counters of a route name and upstream, by loop.
type Route struct {
	Name, Upstream string
	Loops          []RouteLoop
}

// Server are the counters of an upstream's server, by loop, and its
// failed connects (any loop writes them, rarely).
type Server struct {
	Upstream, Name string
	Loops          []ServerLoop
	ConnectErrors  atomic.Uint64
}

// CloseCodes counts Close frames by code. Codes take the first free slot
// when first seen; the owning loop is the only writer, so no CAS is needed.
type CloseCodes struct {
	slots [CloseCodeSlots]struct {
		code atomic.Uint32 // 0: free
		n    atomic.Uint64
	}
	other atomic.Uint64
}

// Add counts a Close frame with code. Only the owning loop calls it.
func (t *CloseCodes) Add(code uint16) {
	for i := range t.slots {
		s := &t.slots[i]
		switch s.code.Load() {
		case uint32(code):
		case 0:
			s.code.Store(uint32(code))
		default:
			continue
		}
		s.n.Add(1)
		return
	}
	t.other.Add(1)
}

// AddConnect counts a connect of the server on loop that took d.
func (o *Server) AddConnect(loop int, d time.Duration) {
	sc := &o.Loops[loop]
	i := 0
	for i < len(ConnectBuckets) && d > ConnectBuckets[i] {
		i++
	}
	sc.Connect[i].Add(1)
	sc.ConnectSum.Add(int64(d))
}

// Counters are a process's counters: those of every route and server name
// seen, and every loop's.
type Counters struct {
	nloops   int    // the number of loops, for the per-loop counters
	Unrouted *Route // requests no route took
	mu       sync.Mutex
	routes   map[[2]string]*Route  // by route name and upstream; guarded by mu
	servers  map[[2]string]*Server // by upstream and server name; guarded by mu
	loops    []*Loop               // guarded by mu
}

// NewCounters returns the counters of a process with nloops loops.
func NewCounters(nloops int) *Counters {
	return &Counters{
		nloops:   nloops,
		routes:   make(map[[2]string]*Route),
		servers:  make(map[[2]string]*Server),
		Unrouted: &Route{Name: UnroutedName, Upstream: UnroutedName, Loops: make([]RouteLoop, nloops)},
	}
}

// Route returns the counters of route name to upstream, made on first use.
func (m *Counters) Route(name, upstream string) *Route {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{name, upstream}
	o := m.routes[k]
	if o == nil {
		o = &Route{Name: name, Upstream: upstream, Loops: make([]RouteLoop, m.nloops)}
		m.routes[k] = o
	}
	return o
}

// Server returns the counters of server name of upstream, made on first
// use.
func (m *Counters) Server(upstream, name string) *Server {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{upstream, name}
	o := m.servers[k]
	if o == nil {
		o = &Server{Upstream: upstream, Name: name, Loops: make([]ServerLoop, m.nloops)}
		m.servers[k] = o
	}
	return o
}

// AddLoop returns the counters of a new loop.
func (m *Counters) AddLoop() *Loop {
	lm := &Loop{}
	m.mu.Lock()
	m.loops = append(m.loops, lm)
	m.mu.Unlock()
	return lm
}

// Gone returns the routes not in listed with tunnels still open, by name
// and upstream.
func (m *Counters) Gone(listed map[*Route]bool) []*Route {
	m.mu.Lock()
	var gone []*Route
	for _, o := range m.routes {
		if !listed[o] && o.open() > 0 {
			gone = append(gone, o)
		}
	}
	m.mu.Unlock()
	slices.SortFunc(gone, func(a, b *Route) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Upstream, b.Upstream))
	})
	return gone
}

func (o *Route) open() int64 {
	var n int64
	for i := range o.Loops {
		n += o.Loops[i].Tunnels.Load()
	}
	return n
}

// Metrics returns the route's counters summed over the loops.
func (o *Route) Metrics() RouteMetrics {
	rm := RouteMetrics{Route: o.Name, Upstream: o.Upstream}
	for i := range o.Loops {
		rc := &o.Loops[i]
		for c := range rc.Requests {
			rm.Requests[c] += rc.Requests[c].Load()
		}
		rm.Handshakes.Upgraded += rc.Handshakes[HandshakeUpgraded].Load()
		rm.Handshakes.Rejected += rc.Handshakes[HandshakeRejected].Load()
		rm.Handshakes.Failed += rc.Handshakes[HandshakeFailed].Load()
		rm.TunnelsOpen += rc.Tunnels.Load()
	}
	return rm
}

// Metrics returns the server's counters summed over the loops; up says
// whether it is healthy now.
func (o *Server) Metrics(up bool) ServerMetrics {
	sm := ServerMetrics{Upstream: o.Upstream, Server: o.Name, Processes: 1, ConnectErrors: o.ConnectErrors.Load()}
	if up {
		sm.Up = 1
	}
	sm.Connect = Histogram{Bounds: make([]float64, len(ConnectBuckets)), Counts: make([]uint64, len(ConnectBuckets)+1)}
	for i, d := range ConnectBuckets {
		sm.Connect.Bounds[i] = d.Seconds()
	}
	for i := range o.Loops {
		sc := &o.Loops[i]
		for b := range sc.Connect {
			sm.Connect.Counts[b] += sc.Connect[b].Load()
		}
		sm.Connect.Sum += time.Duration(sc.ConnectSum.Load()).Seconds()
	}
	return sm
}

// WebSocket returns the loops' tunnel counters summed.
func (m *Counters) WebSocket() WebSocketMetrics {
	m.mu.Lock()
	loops := m.loops
	m.mu.Unlock()
	var ws WebSocketMetrics
	codes := make(map[[2]int]uint64)
	for _, lm := range loops {
		for d := range 2 {
			ws.Bytes[d] += lm.Bytes[d].Load()
			ws.Messages[d] += lm.Messages[d].Load()
			t := &lm.Codes[d]
			for i := range t.slots {
				if code := t.slots[i].code.Load(); code != 0 {
					codes[[2]int{d, int(code)}] += t.slots[i].n.Load()
				}
			}
			if n := t.other.Load(); n > 0 {
				codes[[2]int{d, -1}] += n
			}
		}
		ws.ClosedBy.Client += lm.ClosedBy[CloserClient].Load()
		ws.ClosedBy.Upstream += lm.ClosedBy[CloserUpstream].Load()
		ws.ClosedBy.Proxy += lm.ClosedBy[CloserProxy].Load() + lm.ClosedBy[CloserUnknown].Load()
		for r, label := range CloseReasons {
			if n := lm.ProxyCloses[r+1].Load(); n > 0 {
				if ws.ProxyCloses == nil {
					ws.ProxyCloses = make(map[string]uint64)
				}
				ws.ProxyCloses[label] += n
			}
		}
	}
	for _, k := range slices.SortedFunc(maps.Keys(codes), compareCodeKeys) {
		ws.CloseCodes = append(ws.CloseCodes, CloseCodeCount{Direction: k[0], Code: k[1], Count: codes[k]})
	}
	return ws
}

func compareCodeKeys(a, b [2]int) int {
	return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1]))
}

// AddPollError counts an epoll_ctl that failed on a registered
// descriptor; lm may be nil (no counters).
func (lm *Loop) AddPollError() {
	if lm != nil {
		lm.PollErrors.Add(1)
	}
}

// AddWriteError counts a write of the proxy's own bytes that failed; lm
// may be nil (no counters).
func (lm *Loop) AddWriteError() {
	if lm != nil {
		lm.WriteErrors.Add(1)
	}
}

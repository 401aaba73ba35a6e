package core

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"wsproxy/internal/gcidle"

	"wsproxy/balance"
	"wsproxy/config"
	"wsproxy/core/metrics"
	"wsproxy/internal/dnsup"
	"wsproxy/internal/health"
	"wsproxy/internal/limit"
	"wsproxy/internal/reactor"
	"wsproxy/internal/sock"
	"wsproxy/internal/tlstrim"
)

// Options are the parts of a Server that do not come from the config file.
// The zero value is usable.
type Options struct {
	// Logger receives errors and per-connection debug lines. Nil: slog.Default().
	Logger *slog.Logger

	// ReadBuffer is the size of each loop's shared read buffer in bytes.
	// Zero: 64 KiB.
	ReadBuffer int

	// NoSplice turns splice(2) off for every tunnel (websocket.splice
	// aside), for measuring with and without; NoTLSTrim keeps crypto/tls's
	// input buffers (tls_trim.go); NoReleaseMemory keeps the heap's free
	// pages after a burst (memory.go). cmd sets them from WSPROXY_SPLICE=0,
	// WSPROXY_TLS_TRIM=0 and WSPROXY_RELEASE_MEMORY=0.
	NoSplice, NoTLSTrim, NoReleaseMemory bool

	// AfterRelease, if set, runs after each release of the heap's free
	// pages once a burst of new connections is over (memory.go), on the
	// releaser's goroutine. cmd drops the executable's pages the burst
	// touched there (internal/pagetrim).
	AfterRelease func()

	// IdleGC, if set, is held (internal/gcidle) after each check of the
	// memory releaser in which the process was quiet, and let go after
	// each busy one (memory.go); nil: the runtime's own collections.
	IdleGC *gcidle.Hold

	// SidStore, when set, returns the store of learnt Engine.IO sessions
	// for each upstream with balance: sid, by upstream name; worker
	// processes use it to share one table (internal/sidshm). Nil: each
	// upstream keeps a balance.SidTable private to this process.
	SidStore func(upstream string) balance.SidStore

	// TicketSecret is what the session-ticket keys of the TLS listeners
	// derive from (internal/tickets), unless a listener names key files:
	// Servers given the same secret resume each other's TLS sessions. A
	// master makes one at start and hands it to every worker. Nil: New
	// makes a random one, so this Server resumes only its own sessions.
	TicketSecret []byte

	// Listeners, when set, holds for each configured listener (in config
	// order) sockets that already listen on its address: a master's,
	// shared with the workers of every generation, so that no socket
	// closes when a generation ends (internal/master, "Listening
	// sockets"). Start gives them to the loops in turn, in place of
	// binding one per loop; a listener with none is bound as usual. The
	// Server owns these descriptors once Start is called.
	Listeners [][]int
}

// timeouts are the config's timeouts as time.Durations, plus the ones the
// core fixes for now.
type timeouts struct {
	Connect, HeaderRead, Idle time.Duration
	Read                      time.Duration // between upstream reads while a response is due
	KeepAlive                 time.Duration // an idle keep-alive client between requests
	Handshake                 time.Duration // the upstream's answer to a WebSocket handshake
}

// Stats are counters of one Server, safe to read from any goroutine.
type Stats struct {
	Accepted   uint64 // client connections accepted
	Open       int64  // client connections open now
	Tunnels    uint64 // WebSocket tunnels established
	FramesUp   uint64 // WebSocket frame headers seen client → upstream
	FramesDown uint64 // WebSocket frame headers seen upstream → client

	TLSHandshakeErrors uint64 // TLS clients closed before completing the handshake
	Moved              uint64 // tunnels handed from one loop to another (gather.go)
}

type stats struct {
	accepted, tunnels, framesUp, framesDown atomic.Uint64
	memReleases                             atomic.Uint64 // memory.go
	moved                                   atomic.Uint64 // gather.go
	open                                    atomic.Int64
}

// Server is a running proxy: its loops, listeners, routes and upstreams.
type Server struct {
	cfg    *config.Config // as New got it: listeners and loops (Apply changes neither)
	opts   Options
	log    *slog.Logger
	loops  []*Loop
	lns    []*listener
	cur    atomic.Pointer[settings] // routes, upstreams, timeouts, limits (settings.go); each Loop has its copy
	stats  stats
	tls    tlsState // TLS listeners and their certificates (tls.go)
	addrs  []netip.AddrPort
	wg     sync.WaitGroup
	done   chan struct{} // closed by Close
	limit  connLimiter   // limits.go; Apply changes its limits in place
	move   atomic.Int32  // a moveMode: where tunnels go between the loops (gather.go)
	holds  atomic.Int32  // holdMoves in force: no tunnel moves
	closed sync.Once

	applyMu sync.Mutex   // serialises Apply and SetServers
	health  health.Group // the running health checkers (health.go)

	tlsTrim          bool        // drop crypto/tls's empty input buffers (tls_trim.go)
	unknownExtLogged atomic.Bool // an unknown WebSocket extension was logged (upgrade.go)

	obs *metrics.Counters // per-loop counters, by route and server name (metrics.go)

	importMu   sync.Mutex  // guards importNext and detached (handover.go)
	importNext int         // the loop the next imported tunnel goes to
	detached   detachedSet // routes and servers of imported tunnels this configuration lacks
	dns        *dnsup.Set  // the Watchers of upstreams with servers_from (dns.go)
}

// New prepares a Server for cfg, which must have passed Validate. Upstream
// host names are resolved here, once; the names of servers_from are
// resolved here first and then kept up to date from Start to Close.
func New(cfg *config.Config, opts Options) (*Server, error) {
	s := &Server{cfg: cfg, opts: opts, log: opts.Logger, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.opts.ReadBuffer <= 0 {
		s.opts.ReadBuffer = 64 << 10
	}
	s.tlsTrim = !opts.NoTLSTrim && tlstrim.Err() == nil
	s.limit = connLimiter{limit.New(cfg.Limits.MaxConns, cfg.Limits.MaxConnsPerIP, cfg.Limits.HandshakeRatePerIP)}
	s.dns = s.newDNS()
	cfg, dns, err := s.dns.Plan(cfg) // servers_from upstreams get their first answers
	if err != nil {
		return nil, err
	}
	s.cfg = cfg
	s.obs = metrics.NewCounters(max(cfg.Loops, 1))
	st, err := s.newSettings(cfg, nil)
	if err != nil {
		dns.Discard()
		return nil, err
	}
	if err := s.tls.init(cfg, opts.TicketSecret); err != nil {
		dns.Discard()
		return nil, err
	}
	s.commit(st)
	s.dns.Commit(dns)
	return s, nil
}

// Start binds the listeners, one SO_REUSEPORT socket per loop and address
// (or takes the sockets of Options.Listeners), and starts the loops. A listen address with port 0 is bound once and the
// other loops join the port it got.
func (s *Server) Start() error {
	n := s.cfg.Loops
	if n <= 0 {
		n = 1
	}
	for i := 0; i < n; i++ {
		l, err := newLoop(s, i, s.opts.ReadBuffer)
		if err != nil {
			s.closeGiven(0, 0)
			s.Close()
			return err
		}
		s.attachMetrics(l)
		s.loops = append(s.loops, l)
	}
	for i, lc := range s.cfg.Listen {
		addr := lc.Addr
		var given []int
		if i < len(s.opts.Listeners) {
			given = s.opts.Listeners[i]
		}
		// One socket per loop, or the given ones to the loops in turn (a
		// loop may take several, or none when fewer were given).
		socks := len(s.loops)
		if len(given) > 0 {
			socks = len(given)
		}
		for j := range socks {
			l, fd := s.loops[j%len(s.loops)], -1
			if len(given) > 0 {
				fd = given[j]
			}
			ln, err := listen(l, addr, fd, sock.Buffers{Rcv: int(lc.RcvBuf), Snd: int(lc.SndBuf), NotSent: lc.Lowat()})
			if err != nil {
				s.closeGiven(i, j+1)
				s.Close()
				return fmt.Errorf("listen %s: %w", lc.Addr, err)
			}
			ln.tls = s.tls.conf.Listener(lc.TLS)
			ln.proxy = lc.ProxyProtocol
			if j == 0 { // port 0: the others join the port the first got
				addr = ln.Addr.String()
				s.addrs = append(s.addrs, ln.Addr)
			}
			s.lns = append(s.lns, ln)
		}
	}
	s.checkAll(s.cur.Load())
	s.startMemoryReleaser()
	s.tls.conf.StartTickets()
	s.startDNS()
	for _, l := range s.loops {
		s.wg.Add(1)
		go func(l *Loop) {
			defer s.wg.Done()
			if err := l.Run(); err != nil {
				s.log.Error("loop stopped", "loop", l.ID, "err", err)
			}
		}(l)
	}
	return nil
}

// closeGiven closes the sockets of Options.Listeners that Start has not
// taken yet: those of listener i from index j on, and all of the later ones.
func (s *Server) closeGiven(i, j int) {
	for ; i < len(s.opts.Listeners); i, j = i+1, 0 {
		for _, fd := range s.opts.Listeners[i][min(j, len(s.opts.Listeners[i])):] {
			reactor.CloseFD(fd)
		}
	}
}

// Addrs returns the bound address of each configured listener, in config order.
func (s *Server) Addrs() []netip.AddrPort { return s.addrs }

// Close stops every loop, closing all connections, and waits for them.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
	s.move.Store(int32(moveFrozen)) // a tunnel handed to a stopped loop goes back to its sender, which closes it
	s.tls.conf.StopTickets()
	s.dns.Stop()
	for _, l := range s.loops {
		l.Stop()
	}
	s.health.Close()
	s.wg.Wait()
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Accepted:   s.stats.accepted.Load(),
		Open:       s.stats.open.Load(),
		Tunnels:    s.stats.tunnels.Load(),
		FramesUp:   s.stats.framesUp.Load(),
		FramesDown: s.stats.framesDown.Load(),

		TLSHandshakeErrors: s.tls.handshakeErrors.Load(),
		Moved:              s.stats.moved.Load(),
	}
}

func (s *Server) logf(format string, args ...any) {
	s.log.Debug(fmt.Sprintf(format, args...))
}

// proto is the X-Forwarded-Proto value for c.
func (s *Server) proto(c *conn) string {
	if c.cl.tls != nil {
		return "https"
	}
	return "http"
}

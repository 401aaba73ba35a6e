package core

import (
	"net/netip"
	"time"

	"wsproxy/codec"
	"wsproxy/core/metrics"
	"wsproxy/internal/forward"
	"wsproxy/internal/reactor"
	"wsproxy/internal/timer"
	"wsproxy/internal/tlsloop"
)

// Loop is one event loop of a Server: the reactor (poller, descriptor
// table, read buffer, timer wheel, wake-up queue) embedded by value, and
// what the proxy keeps per loop. Its state is touched only by the
// goroutine running Run; other goroutines use Submit.
type Loop struct {
	reactor.Loop
	srv *Server
	set *settings // routes, upstreams, timeouts, limits now (settings.go); swapped by Apply

	obs     *metrics.Loop // this loop's counters (metrics.go)
	sampled float64       // log sampling credit (sampleTunnel)

	idle  idlePool     // parked upstream connections, by server
	pipes splicePipes  // pipes for splicing tunnel payload (splice.go)
	tls   tlsloop.Loop // TLS handshake slots (tls_conn.go)
	conns int          // live client connections on this loop

	moveAt     int // the descriptor a sweep goes on from; -1: none under way (gather.go)
	spreadNext int // the loop a spreading sweep gives its next tunnel to

	housekeeping timer.Entry

	// Scratch space for the connection being handled; valid only during
	// one event callback.
	req    codec.Request
	resp   codec.Response
	hbuf   []byte          // heads being written
	pbuf   []byte          // rewritten request target
	fwd    forward.Scratch // the forwarding headers of the request head being written
	ahead  readAhead       // reads made ahead of the current batch's events (prefetch.go)
	npath  []byte          // the normalised request path, when it differs
	breq   balanceRequest
	freeX  *exchange // free list of exchanges (exchange.go)
	nfreeX int
	client netip.Addr // the request's client address (after trusted_proxies)
}

// newLoop makes a Loop of s with a read buffer of bufSize bytes.
func newLoop(s *Server, id, bufSize int) (*Loop, error) {
	l := &Loop{srv: s, moveAt: -1}
	if err := l.Init(id, bufSize); err != nil {
		return nil, err
	}
	l.InitSends()
	if l.Sends.Batching() {
		l.SetPrefetch(l.prefetch, l.flushPrefetched)
	}
	l.Log = s.log
	if st := s.cur.Load(); st != nil {
		l.use(st)
	}
	l.idle.init()
	l.tls.Init(&l.Loop, s.tls.slots, s.tlsTrim, &s.tls.goroutines)
	if !s.opts.NoSplice {
		l.pipes.Init(pipesPerLoop)
	}
	l.hbuf = make([]byte, 0, 4096)
	l.pbuf = make([]byte, 0, 1024)
	l.fwd = forward.NewScratch()
	l.OnStop = func() { l.idle.closeAll(l) }
	l.OnStopped = l.pipes.CloseAll
	l.housekeeping.Owner = (*housekeeper)(l)
	l.Schedule(&l.housekeeping, time.Second)
	return l, nil
}

// housekeeper runs once a second: it evicts stale idle upstream connections,
// drops the empty input buffers of TLS connections (tls_trim.go) and,
// while the loops gather or spread their tunnels, hands over those that
// may move now (gather.go).
type housekeeper Loop

func (h *housekeeper) OnTimer() {
	l := (*Loop)(h)
	l.idle.evict(l, l.Now)
	l.trimTLS()
	if wanted, _ := l.sweepWanted(moveMode(l.srv.move.Load())); wanted && l.conns > 0 {
		l.startSweep(false)
	}
	l.Schedule(&l.housekeeping, time.Second)
}

// eachConn calls f for every proxied connection owned by the loop. It runs
// on the loop's goroutine; f may close the connection.
func (l *Loop) eachConn(f func(c *conn)) {
	l.Each(func(_ int, h reactor.Handler) {
		e, ok := h.(*endpoint)
		if !ok || e.c == nil || e.flags&epIsUpstream != 0 || e.c.st == stClosed {
			return // not a client endpoint: a listener, a parked upstream, an upstream side
		}
		f(e.c)
	})
}

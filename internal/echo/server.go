// Package echo is a small WebSocket echo and HTTP backend on wsproxy's own
// reactor, for demos, tests and capacity runs.
package echo

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"wsproxy/codec"
	"wsproxy/internal/reactor"
)

// Server is a small WebSocket echo and HTTP backend on the same reactor
// as the proxy, for demos, tests and capacity runs. WebSocket messages come
// back as sent (frame by frame, unmasked); Pings get Pongs; a Close is
// answered and the connection closed. The 101 carries X-Echo-Id (the
// server's id) and X-Echo-Path (the request target it received). An HTTP
// request gets a JSON report of what arrived: the server's id, method, path,
// query, Host and forwarding headers, every field line in order, and the
// length and SHA-256 of the body. Special paths:
//
//	/status/NNN       answer with status NNN (204 and 304 without a body)
//	?size=N           answer with an N-byte body instead of the report
//	?chunked=1        send the answer with chunked transfer coding
type Server struct {
	ID    string
	log   *slog.Logger
	loops []*loop
	addr  netip.AddrPort
	wg    sync.WaitGroup

	conns, open, messages atomic.Int64
}

// Stats are counters of an Server. Messages counts the messages whose
// last frame has begun to be echoed: one a client has received back is
// counted.
type Stats struct {
	Conns, Open, Messages int64
}

// New starts an echo backend with nloops loops listening on addr.
func New(addr, id string, nloops int, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	if nloops <= 0 {
		nloops = 1
	}
	e := &Server{ID: id, log: log}
	for i := 0; i < nloops; i++ {
		l := &loop{hbuf: make([]byte, 0, 4096)}
		if err := l.Init(i, 64<<10); err != nil {
			e.Close()
			return nil, err
		}
		l.Log = log
		e.loops = append(e.loops, l)
		ln, err := reactor.Listen(&l.Loop, addr, func(fd int, peer netip.AddrPort) { e.serve(l, fd, peer) })
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("echo listen %s: %w", addr, err)
		}
		if i == 0 {
			e.addr = ln.Addr
			addr = ln.Addr.String()
		}
	}
	for _, l := range e.loops {
		e.wg.Add(1)
		go func(l *loop) {
			defer e.wg.Done()
			if err := l.Run(); err != nil {
				log.Error("echo loop stopped", "err", err)
			}
		}(l)
	}
	return e, nil
}

// Addr returns the bound address.
func (e *Server) Addr() netip.AddrPort { return e.addr }

// Stats returns a snapshot of the counters.
func (e *Server) Stats() Stats {
	return Stats{Conns: e.conns.Load(), Open: e.open.Load(), Messages: e.messages.Load()}
}

// Close stops the loops and closes every connection.
func (e *Server) Close() {
	for _, l := range e.loops {
		l.Stop()
	}
	e.wg.Wait()
}

func (e *Server) serve(l *loop, fd int, peer netip.AddrPort) {
	c := &conn{srv: e, peer: peer, l: l}
	c.sock.SetFD(fd)
	c.events = c.interest()
	if err := l.Register(fd, c, c.events); err != nil {
		reactor.CloseFD(fd)
		return
	}
	e.conns.Add(1)
	e.open.Add(1)
}

// loop is an echo loop: the reactor and the scratch space of the
// connection being handled.
type loop struct {
	reactor.Loop
	req  codec.Request
	hbuf []byte
}

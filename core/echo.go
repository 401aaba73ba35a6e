package core

import (
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"wsproxy/codec"
)

// EchoServer is a small WebSocket echo and HTTP backend on the same reactor
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
type EchoServer struct {
	ID    string
	log   *slog.Logger
	loops []*Loop
	addr  netip.AddrPort
	wg    sync.WaitGroup

	conns, open, messages atomic.Int64
}

// EchoStats are counters of an EchoServer.
type EchoStats struct {
	Conns, Open, Messages int64
}

// NewEcho starts an echo backend with nloops loops listening on addr.
func NewEcho(addr, id string, nloops int, log *slog.Logger) (*EchoServer, error) {
	if log == nil {
		log = slog.Default()
	}
	if nloops <= 0 {
		nloops = 1
	}
	e := &EchoServer{ID: id, log: log}
	for i := 0; i < nloops; i++ {
		l, err := newLoop(i, 64<<10)
		if err != nil {
			e.Close()
			return nil, err
		}
		l.log = log
		e.loops = append(e.loops, l)
		ln, err := listen(l, addr, e.serve)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("echo listen %s: %w", addr, err)
		}
		if i == 0 {
			e.addr = ln.addr
			addr = ln.addr.String()
		}
	}
	for _, l := range e.loops {
		e.wg.Add(1)
		go func(l *Loop) {
			defer e.wg.Done()
			if err := l.Run(); err != nil {
				log.Error("echo loop stopped", "err", err)
			}
		}(l)
	}
	return e, nil
}

// Addr returns the bound address.
func (e *EchoServer) Addr() netip.AddrPort { return e.addr }

// Stats returns a snapshot of the counters.
func (e *EchoServer) Stats() EchoStats {
	return EchoStats{Conns: e.conns.Load(), Open: e.open.Load(), Messages: e.messages.Load()}
}

// Close stops the loops and closes every connection.
func (e *EchoServer) Close() {
	for _, l := range e.loops {
		l.Stop()
	}
	e.wg.Wait()
}

func (e *EchoServer) serve(ln *listener, fd int, peer netip.AddrPort) {
	l := ln.l
	c := &echoConn{srv: e, peer: peer}
	c.ep = endpoint{fd: fd, l: l, events: 0}
	if err := l.register(fd, c, 0); err != nil {
		closeFD(fd)
		return
	}
	c.ep.flags |= epRegistered
	c.ep.setInterestForce(l, c.interest())
	e.conns.Add(1)
	e.open.Add(1)
}

var _ = codec.ErrShort

// Package limit enforces the connection limits of limits: in the
// configuration: max_conns (the process), max_conns_per_ip and
// handshake_rate_per_ip (a token bucket per client address).
//
// A Limiter is shared by the loops of a process; its lock is taken at
// accept, close and WebSocket handshake only, never per byte, and not at
// all while no per-address limit is set. A nil *Limiter admits everything.
// Set changes the limits in place (a configuration reload); the counts
// carry over.
package limit

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter counts connections per client address and the handshake tokens
// each address has left.
type Limiter struct {
	lim atomic.Pointer[limits]

	mu      sync.Mutex
	ips     map[netip.Addr]*ipEntry
	tracked atomic.Int64 // len(ips), read without the lock
}

// limits are the three limits, replaced whole by Set.
type limits struct {
	maxConns, perIP int
	rate            float64 // handshakes per second per address; 0: off
}

type ipEntry struct {
	conns  int
	tokens float64
	last   time.Time // last token refill
}

// New returns a Limiter for at most maxConns connections in the process,
// perIP from one address and rate WebSocket handshakes per second from one
// address (burst: rate); 0 turns a limit off. With all three off it admits
// everything without taking a lock.
func New(maxConns, perIP, rate int) *Limiter {
	lm := &Limiter{ips: make(map[netip.Addr]*ipEntry)}
	lm.Set(maxConns, perIP, rate)
	return lm
}

// Set changes the limits, as New takes them, for the connections and
// handshakes that come next. Connections open now stay counted; those
// admitted while no per-address limit was set are not counted against one
// set later. Safe for concurrent use.
func (lm *Limiter) Set(maxConns, perIP, rate int) {
	lm.lim.Store(&limits{maxConns: maxConns, perIP: perIP, rate: float64(rate)})
}

// Admit counts a new connection from ip and returns the error its first
// request will be answered with (ErrOverloaded, ErrTooManyConns), or nil.
// open is the process's open count including this connection. The
// connection is counted even when refused: Release forgets it.
func (lm *Limiter) Admit(ip netip.Addr, open int64) error {
	if lm == nil {
		return nil
	}
	l := lm.lim.Load()
	var err error
	if l.maxConns > 0 && open > int64(l.maxConns) {
		err = ErrOverloaded
	}
	if l.perIP > 0 || l.rate > 0 {
		lm.mu.Lock()
		e := lm.ips[ip]
		if e == nil {
			e = &ipEntry{tokens: l.rate}
			lm.ips[ip] = e
			lm.tracked.Store(int64(len(lm.ips)))
		}
		e.conns++
		if l.perIP > 0 && e.conns > l.perIP && err == nil {
			err = ErrTooManyConns
		}
		lm.mu.Unlock()
	}
	return err
}

// Release forgets a connection counted by Admit. An address's entry is
// dropped with its last connection once its bucket is full again, so the
// map holds only addresses with connections or a spent bucket.
func (lm *Limiter) Release(ip netip.Addr, now time.Time) {
	if lm == nil || lm.tracked.Load() == 0 {
		return
	}
	rate := lm.lim.Load().rate
	lm.mu.Lock()
	if e := lm.ips[ip]; e != nil {
		e.conns--
		if e.conns <= 0 && (rate == 0 || e.refill(rate, now) >= rate) {
			delete(lm.ips, ip)
			lm.tracked.Store(int64(len(lm.ips)))
		}
	}
	lm.mu.Unlock()
}

// Handshake takes a token for a WebSocket handshake from ip, or returns
// ErrHandshakeRate when its bucket is empty. An address not admitted (no
// entry) is not limited.
func (lm *Limiter) Handshake(ip netip.Addr, now time.Time) error {
	if lm == nil {
		return nil
	}
	rate := lm.lim.Load().rate
	if rate == 0 {
		return nil
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	e := lm.ips[ip]
	if e == nil {
		return nil
	}
	if e.refill(rate, now) < 1 {
		return ErrHandshakeRate
	}
	e.tokens--
	return nil
}

// refill adds the tokens earned since the last refill (burst = rate).
func (e *ipEntry) refill(rate float64, now time.Time) float64 {
	if !e.last.IsZero() {
		e.tokens += now.Sub(e.last).Seconds() * rate
		if e.tokens > rate {
			e.tokens = rate
		}
	}
	e.last = now
	return e.tokens
}

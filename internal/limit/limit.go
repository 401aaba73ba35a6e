// Package limit enforces the connection limits of limits: in the
// configuration: max_conns (the process), max_conns_per_ip and
// handshake_rate_per_ip (a token bucket per client address).
//
// A Limiter is shared by the loops of a process; its lock is taken at
// accept, close and WebSocket handshake only, never per byte. A nil
// *Limiter (no limits configured) admits everything.
package limit

import (
	"net/netip"
	"sync"
	"time"
)

// Limiter counts connections per client address and the handshake tokens
// each address has left.
type Limiter struct {
	maxConns, perIP int
	rate            float64 // handshakes per second per address; 0: off

	mu  sync.Mutex
	ips map[netip.Addr]*ipEntry
}

type ipEntry struct {
	conns  int
	tokens float64
	last   time.Time // last token refill
}

// New returns a Limiter for at most maxConns connections in the process,
// perIP from one address and rate WebSocket handshakes per second from one
// address (burst: rate); 0 turns a limit off. With all three off it returns
// nil, which admits everything without taking a lock.
func New(maxConns, perIP, rate int) *Limiter {
	if maxConns == 0 && perIP == 0 && rate == 0 {
		return nil
	}
	return &Limiter{maxConns: maxConns, perIP: perIP, rate: float64(rate), ips: make(map[netip.Addr]*ipEntry)}
}

// Admit counts a new connection from ip and returns the error its first
// request will be answered with (ErrOverloaded, ErrTooManyConns), or nil.
// open is the process's open count including this connection. The
// connection is counted even when refused: Release forgets it.
func (lm *Limiter) Admit(ip netip.Addr, open int64) error {
	if lm == nil {
		return nil
	}
	var err error
	if lm.maxConns > 0 && open > int64(lm.maxConns) {
		err = ErrOverloaded
	}
	if lm.perIP > 0 || lm.rate > 0 {
		lm.mu.Lock()
		e := lm.ips[ip]
		if e == nil {
			e = &ipEntry{tokens: lm.rate}
			lm.ips[ip] = e
		}
		e.conns++
		if lm.perIP > 0 && e.conns > lm.perIP && err == nil {
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
	if lm == nil || lm.perIP == 0 && lm.rate == 0 {
		return
	}
	lm.mu.Lock()
	if e := lm.ips[ip]; e != nil {
		e.conns--
		if e.conns <= 0 && (lm.rate == 0 || e.refill(lm.rate, now) >= lm.rate) {
			delete(lm.ips, ip)
		}
	}
	lm.mu.Unlock()
}

// Handshake takes a token for a WebSocket handshake from ip, or returns
// ErrHandshakeRate when its bucket is empty. An address not admitted (no
// entry) is not limited.
func (lm *Limiter) Handshake(ip netip.Addr, now time.Time) error {
	if lm == nil || lm.rate == 0 {
		return nil
	}
	lm.mu.Lock()
	defer lm.mu.Unlock()
	e := lm.ips[ip]
	if e == nil {
		return nil
	}
	if e.refill(lm.rate, now) < 1 {
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

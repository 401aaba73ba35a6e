package core

import (
	"net/netip"
	"sync"
	"time"

	"wsproxy/codec"
)

// limiter enforces limits.max_conns, max_conns_per_ip and
// handshake_rate_per_ip. It is shared by the loops of a process; the lock is
// taken at accept, close and WebSocket handshake only, never per byte.
type limiter struct {
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

func newLimiter(maxConns, perIP, rate int) *limiter {
	if maxConns == 0 && perIP == 0 && rate == 0 {
		return nil
	}
	return &limiter{maxConns: maxConns, perIP: perIP, rate: float64(rate), ips: make(map[netip.Addr]*ipEntry)}
}

// admit counts a new connection from ip and returns the error its first
// request will be answered with, or nil. open is the process's open count
// including this connection.
func (lm *limiter) admit(ip netip.Addr, open int64) error {
	if lm == nil {
		return nil
	}
	var err error
	if lm.maxConns > 0 && open > int64(lm.maxConns) {
		err = errOverloaded
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
			err = errTooManyConns
		}
		lm.mu.Unlock()
	}
	return err
}

// release forgets a connection counted by admit.
func (lm *limiter) release(ip netip.Addr, now time.Time) {
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

// handshake takes a token for a WebSocket handshake from ip.
func (lm *limiter) handshake(ip netip.Addr, now time.Time) error {
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
		return errHandshakeRate
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

// originAllowed checks an Origin header against a route's allowlist:
// "https://app.example.com" matches exactly (case-insensitively),
// "*.example.com" matches any scheme and any subdomain.
func originAllowed(list []string, origin []byte) bool {
	if len(list) == 0 {
		return true
	}
	host := origin
	for i := 0; i+2 < len(origin); i++ {
		if origin[i] == ':' && origin[i+1] == '/' && origin[i+2] == '/' {
			host = origin[i+3:]
			break
		}
	}
	for _, o := range list {
		if len(o) > 2 && o[0] == '*' && o[1] == '.' {
			h := stripPort(host)
			if len(h) > len(o)-1 && codec.EqualFold(h[len(h)-len(o)+1:], o[1:]) {
				return true
			}
			continue
		}
		if codec.EqualFold(origin, o) {
			return true
		}
	}
	return false
}

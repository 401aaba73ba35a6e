package balance

import (
	"sync"
	"sync/atomic"
	"time"
)

// ServerConfig is one backend as configured. It is a plain value, to copy
// and compare freely; NewPool turns each into a Server.
type ServerConfig struct {
	// Addr is the dial address, "host:port". It is also the server's
	// identity: hash keys, cookies and learnt sids follow the address, not
	// the position in the list, so reordering the list moves no client.
	Addr string
	// Weight is the server's relative share of requests; 0 means 1.
	Weight int
	// MaxConns caps the server's active count (live tunnels plus in-flight
	// requests); a server at its cap is not a candidate. 0 means no cap.
	MaxConns int
	// Backup servers are candidates only when no primary server is
	// available (down or full), as nginx's backup.
	Backup bool
}

// Server is one backend of a Pool: its address, its configuration, with
// Weight at least 1, and the runtime state that all event loops share.
// Only NewPool and Pool.Update make Servers. Update keeps the Server of an
// address the pool already had, changing its weight, max_conns and backup
// in place, so that its count of tunnels and its health carry over; that
// is why those three are atomics, read through Config.
type Server struct {
	// Addr is the dial address, "host:port", and the server's identity:
	// it never changes.
	Addr string

	id       uint64       // hash of Addr: rendezvous seed and SidStore value
	weight   atomic.Int64 // ServerConfig.Weight, at least 1
	maxConns atomic.Int64 // ServerConfig.MaxConns; 0: no cap
	backup   atomic.Bool  // ServerConfig.Backup

	active    atomic.Int64 // tunnels + in-flight requests (Acquire/Release)
	adminDown atomic.Bool  // set by MarkDown: active health checks
	downUntil atomic.Int64 // passive health: down before this Unix time in ns
	probation atomic.Bool  // passive health: back from down; one failure downs it again

	mu        sync.Mutex // serialises Report's read-modify-write
	fails     int        // guarded by mu: failures in the current window
	windowEnd int64      // guarded by mu: Unix ns at which fails resets
}

// newServer makes the Server of sc, whose Weight is at least 1.
func newServer(sc ServerConfig) *Server {
	s := &Server{Addr: sc.Addr, id: hashString(sc.Addr)}
	s.set(sc)
	return s
}

// set stores the changeable part of sc (Addr is not).
func (s *Server) set(sc ServerConfig) {
	s.weight.Store(int64(max(sc.Weight, 1)))
	s.maxConns.Store(int64(sc.MaxConns))
	s.backup.Store(sc.Backup)
}

// Config returns the server's configuration as NewPool or the last Update
// set it, with Weight at least 1. Safe for concurrent use.
func (s *Server) Config() ServerConfig {
	return ServerConfig{Addr: s.Addr, Weight: int(s.weight.Load()), MaxConns: int(s.maxConns.Load()), Backup: s.backup.Load()}
}

// ID is a stable 64-bit identity derived from Addr alone: equal on every
// event loop, worker process and proxy instance. It is what a SidStore
// stores.
func (s *Server) ID() uint64 { return s.id }

// Acquire counts one more tunnel or in-flight request on s, unless s is at
// its MaxConns, in which case it reports false and counts nothing. Pick
// acquires for its caller; Acquire is for work sent to s without a Pick,
// such as a request on a kept-alive upstream connection. Safe for
// concurrent use.
func (s *Server) Acquire() bool {
	limit := s.maxConns.Load()
	if limit <= 0 {
		s.active.Add(1)
		return true
	}
	for {
		n := s.active.Load()
		if n >= limit {
			return false
		}
		if s.active.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// Adopt counts a tunnel that is already open to s, whatever MaxConns says:
// one handed over from another process (internal/handover). Release
// undoes it as it undoes Acquire.
func (s *Server) Adopt() { s.active.Add(1) }

// Release undoes one successful Acquire or Pick. It panics when there is
// nothing to release, which is always a bug in the caller's accounting.
func (s *Server) Release() {
	if s.active.Add(-1) < 0 {
		panic("balance: Release of " + s.Addr + " without Acquire")
	}
}

// Active returns the current count of tunnels and in-flight requests.
func (s *Server) Active() int { return int(s.active.Load()) }

// Available reports whether s is a candidate at now: not marked down by the
// active or passive health checks, and below its MaxConns.
func (s *Server) Available(now time.Time) bool { return s.availableAt(now.UnixNano()) }

// Healthy reports whether s is in rotation at now as far as health goes
// (active and passive checks), full or not. Safe for concurrent use.
func (s *Server) Healthy(now time.Time) bool { return s.healthyAt(now.UnixNano()) }

func (s *Server) availableAt(ns int64) bool {
	limit := s.maxConns.Load()
	return s.healthyAt(ns) && (limit <= 0 || s.active.Load() < limit)
}

func (s *Server) healthyAt(ns int64) bool {
	return !s.adminDown.Load() && ns >= s.downUntil.Load()
}

// MarkDown takes s out of rotation until MarkUp, whatever the passive checks
// say. It is the hook for active health checks; safe for concurrent use.
func (s *Server) MarkDown() { s.adminDown.Store(true) }

// MarkUp puts s back into rotation and clears the passive checks' verdict
// too, since an active check has just seen it healthy. Safe for concurrent
// use.
func (s *Server) MarkUp() {
	s.mu.Lock()
	s.fails = 0
	s.downUntil.Store(0)
	s.probation.Store(false)
	s.adminDown.Store(false)
	s.mu.Unlock()
}

// report records one connect result at ns for the passive checks, with
// nginx's semantics: maxFails failures within timeout of the window's first
// failure mark s down for timeout. Once back, s is on probation, as nginx
// lets one request through: a failure marks it down again at once, a
// success makes it fully healthy. Results that arrive while s is down come
// from connects started earlier and are ignored.
func (s *Server) report(ok bool, ns int64, maxFails int, timeout int64) {
	if ok {
		if !s.probation.Load() {
			return // the common case: one atomic load, no lock
		}
		s.mu.Lock()
		if ns >= s.downUntil.Load() {
			s.probation.Store(false)
			s.fails = 0
		}
		s.mu.Unlock()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ns < s.downUntil.Load() {
		return
	}
	if s.probation.Load() {
		s.downUntil.Store(ns + timeout)
		return
	}
	if ns >= s.windowEnd {
		s.fails = 0
		s.windowEnd = ns + timeout
	}
	s.fails++
	if s.fails >= maxFails {
		s.fails = 0
		s.downUntil.Store(ns + timeout)
		s.probation.Store(true)
	}
}

package tickets

import (
	"crypto/tls"
	"math"
	"sync"
	"time"
)

// maxWait bounds the time between two looks at the clock. The timer runs
// on the monotonic clock and the periods on the wall clock: a wall clock
// set forward, or a machine that slept, is noticed within maxWait.
const maxWait = time.Minute

// Rotator keeps the session-ticket keys of tls.Configs derived from one
// secret and current. Rotate installs the keys of a given moment; Start
// does it at the start of every period until Stop. Its methods are safe
// for concurrent use; the tls.Configs may serve handshakes meanwhile
// (SetSessionTicketKeys is).
type Rotator struct {
	secret []byte

	mu      sync.Mutex
	configs []rotated
	timer   *time.Timer // nil unless started
	stopped bool
}

// rotated is one tls.Config a Rotator keeps.
type rotated struct {
	cfg    *tls.Config
	period time.Duration
	index  int64 // the period whose keys cfg holds
}

// NewRotator returns a Rotator deriving keys from secret; a nil secret
// means a new random one (NewSecret), for a process that shares its
// sessions with no other.
func NewRotator(secret []byte) *Rotator {
	if secret == nil {
		secret = NewSecret()
	}
	return &Rotator{secret: secret}
}

// Add makes r keep cfg's keys, for tickets that resume for at most
// lifetime (DefaultLifetime if 0), and installs the keys of now at once.
func (r *Rotator) Add(cfg *tls.Config, lifetime time.Duration, now time.Time) {
	if lifetime <= 0 {
		lifetime = DefaultLifetime
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.configs = append(r.configs, rotated{cfg: cfg, period: Period(lifetime), index: math.MinInt64})
	r.rotate(now)
}

// Rotate installs in every tls.Config the keys of the period now falls in,
// where they changed, and returns when the next period of any of them
// begins. Start calls it with the time; tests call it with any.
func (r *Rotator) Rotate(now time.Time) (next time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rotate(now)
}

func (r *Rotator) rotate(now time.Time) (next time.Time) {
	for k := range r.configs {
		c := &r.configs[k]
		i := Index(now, c.period)
		if i != c.index {
			c.cfg.SetSessionTicketKeys(Keys(r.secret, c.period, i))
			c.index = i
		}
		if s := Start(i+1, c.period); next.IsZero() || s.Before(next) {
			next = s
		}
	}
	return next
}

// Start rotates the keys from now on, at the start of every period (and
// at least every minute, in case the wall clock jumped), until Stop. Call
// it once.
func (r *Rotator) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || r.timer != nil {
		return
	}
	r.timer = time.AfterFunc(r.wait(time.Now()), r.tick)
}

// tick is the timer's function: rotate, then wait for the next period.
func (r *Rotator) tick() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return
	}
	r.timer.Reset(r.wait(time.Now()))
}

// wait rotates for now and returns how long to wait for the next look.
func (r *Rotator) wait(now time.Time) time.Duration {
	next := r.rotate(now)
	if next.IsZero() {
		return maxWait
	}
	return min(next.Sub(now), maxWait)
}

// Stop ends the rotation; the keys last installed stay.
func (r *Rotator) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.timer != nil {
		r.timer.Stop()
	}
}

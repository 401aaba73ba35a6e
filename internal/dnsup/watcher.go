package dnsup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"wsproxy/config"
)

// Spec is one name to watch, for one upstream.
type Spec struct {
	// Upstream names the upstream, for OnChange, logs and Stats.
	Upstream string

	// Name is the DNS name, taken as absolute (no search domains).
	Name string

	// Port is the servers' port for A and AAAA records; SRV records carry
	// their own and ignore it.
	Port int

	// Type is dns.TypeA, dns.TypeAAAA or dns.TypeSRV.
	Type uint16

	// Interval, when positive, is the time between resolutions, whatever
	// the TTL. Zero: the answer's smallest TTL, at least
	// config.MinDNSInterval; a failure is then retried after
	// config.DefaultDNSRetry.
	Interval time.Duration

	// Resolver is the DNS server's "IP:PORT". Empty: the first nameserver
	// of Options.ResolvConf.
	Resolver string
}

// SpecOf returns the Spec of an upstream with servers_from, validated.
func SpecOf(u *config.Upstream) Spec {
	sf := u.ServersFrom
	return Spec{
		Upstream: u.Name,
		Name:     sf.Name,
		Port:     sf.Port,
		Type:     dns.StringToType[sf.Type],
		Interval: time.Duration(sf.Interval),
		Resolver: sf.Resolver,
	}
}

// Options are what a Watcher needs beyond its Spec.
type Options struct {
	// OnChange receives the upstream's new server list, sorted by address,
	// whenever a resolution finds a set different from the last one (the
	// first one included). It is called from the Watcher's goroutine (from
	// New for the first answer), never twice at once for one Watcher;
	// the slice is the callee's. Required.
	OnChange func(upstream string, servers []config.Server)

	// Logger receives the changes of state (warn when resolution starts
	// failing, info when it works again) and of membership (info). Nil:
	// slog.Default().
	Logger *slog.Logger

	// ResolvConf is the file the default resolver is read from. Empty:
	// "/etc/resolv.conf".
	ResolvConf string

	// Timeout bounds one DNS exchange. Zero: QueryTimeout.
	Timeout time.Duration

	// resolved, when set (by tests), is called after each resolution has
	// been counted and applied, from the resolving goroutine.
	resolved func(Result)
}

// Watcher keeps one upstream's server list in step with DNS. Its methods
// are safe for concurrent use.
type Watcher struct {
	spec Spec
	opts Options
	res  *resolver

	ctx    context.Context // cancelled by Stop
	cancel context.CancelFunc
	done   chan struct{} // closed when the goroutine has returned

	state   Result        // the last result; NumResults before the first; the resolving goroutine's own
	delay   time.Duration // until the resolution after New's
	started atomic.Bool   // Start was called: Stop waits for done

	mu      sync.Mutex
	servers []config.Server // guarded by mu: the last good set, sorted

	counts   [NumResults]atomic.Uint64
	nservers atomic.Int64
}

// New resolves spec once, calling opts.OnChange with the servers found,
// and returns a Watcher that goes on resolving once started. The first
// resolution may take up to two query timeouts (UDP, then TCP) per name;
// when it fails the Watcher has no servers until one succeeds. New fails
// only when there is no resolver to ask.
func New(spec Spec, opts Options) (*Watcher, error) {
	if opts.OnChange == nil {
		return nil, errors.New("dnsup: Options.OnChange is nil")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ResolvConf == "" {
		opts.ResolvConf = "/etc/resolv.conf"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = QueryTimeout
	}
	addr := spec.Resolver
	if addr == "" {
		var err error
		if addr, err = defaultResolver(opts.ResolvConf); err != nil {
			return nil, fmt.Errorf("upstream %s: servers_from: %w", spec.Upstream, err)
		}
	}
	w := &Watcher{spec: spec, opts: opts, res: newResolver(addr, opts.Timeout), state: NumResults, done: make(chan struct{})}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.delay = w.resolve()
	return w, nil
}

// Start starts resolving in a goroutine of the Watcher's own, until Stop;
// the next resolution comes when the first one's interval or TTL says.
// Start must be called at most once.
func (w *Watcher) Start() {
	w.started.Store(true)
	go w.run(w.delay)
}

// Stop ends the Watcher's goroutine, cancelling a query in flight, and
// waits for it. OnChange is not called once Stop has returned. Stop may be
// called more than once, and without Start.
func (w *Watcher) Stop() {
	w.cancel()
	if w.started.Load() {
		<-w.done
	}
}

// Spec returns what w watches.
func (w *Watcher) Spec() Spec { return w.spec }

// Servers returns the last good set, sorted by address; nil before the
// first. The slice is the caller's.
func (w *Watcher) Servers() []config.Server {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.servers)
}

// Stats are a Watcher's counters.
type Stats struct {
	Upstream string
	Results  [NumResults]uint64 // resolutions by Result
	Servers  int                // servers in the current set
}

// Stats returns the Watcher's counters now.
func (w *Watcher) Stats() Stats {
	s := Stats{Upstream: w.spec.Upstream, Servers: int(w.nservers.Load())}
	for r := range s.Results {
		s.Results[r] = w.counts[r].Load()
	}
	return s
}

func (w *Watcher) run(delay time.Duration) {
	defer close(w.done)
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(w.resolve())
	}
}

// resolve asks once, counts and applies the result and returns the time
// until the next resolution.
func (w *Watcher) resolve() time.Duration {
	list, ttl, err := w.res.lookup(w.ctx, &w.spec)
	if w.ctx.Err() != nil {
		return 0 // stopped; run returns
	}
	result := ResultOK
	if err != nil {
		result = ResultError
		var ae *answerError
		if errors.As(err, &ae) {
			result = ae.result
		}
	}
	w.counts[result].Add(1)
	w.note(result, err)
	if result == ResultOK {
		w.apply(list)
	}
	if w.opts.resolved != nil {
		w.opts.resolved(result)
	}
	return next(w.spec.Interval, ttl, result == ResultOK)
}

// next is the time until the next resolution after one that found
// servers (ok) with the smallest TTL ttl, or that failed.
func next(interval time.Duration, ttl uint32, ok bool) time.Duration {
	switch {
	case interval > 0:
		return interval
	case !ok:
		return config.DefaultDNSRetry
	}
	return max(time.Duration(ttl)*time.Second, config.MinDNSInterval)
}

// note logs a change of state: once when resolution starts failing (or
// fails differently), once when it works again.
func (w *Watcher) note(result Result, err error) {
	prev := w.state
	w.state = result
	if result == prev {
		return
	}
	log := w.opts.Logger.With("upstream", w.spec.Upstream, "dns", w.spec.Name, "type", dns.TypeToString[w.spec.Type])
	if result == ResultOK {
		if prev != NumResults {
			log.Info("servers_from: resolves again")
		}
		return
	}
	if n := int(w.nservers.Load()); n > 0 {
		log.Warn("servers_from: resolution failed; keeping the last servers", "result", result.String(), "err", err, "servers", n)
	} else {
		log.Warn("servers_from: resolution failed; no servers yet", "result", result.String(), "err", err)
	}
}

// apply makes list the current set if it differs, logs the change and
// hands it to OnChange.
func (w *Watcher) apply(list []config.Server) {
	w.mu.Lock()
	old := w.servers
	if equal(old, list) {
		w.mu.Unlock()
		return
	}
	w.servers = list
	w.nservers.Store(int64(len(list)))
	w.mu.Unlock()
	w.opts.Logger.Info("servers_from: servers changed", "upstream", w.spec.Upstream, "dns", w.spec.Name,
		"servers", addrs(list), "added", len(missing(list, old)), "removed", len(missing(old, list)))
	w.opts.OnChange(w.spec.Upstream, slices.Clone(list))
}

// missing returns the servers of a whose address b lacks.
func missing(a, b []config.Server) []config.Server {
	var out []config.Server
	for _, s := range a {
		if !slices.ContainsFunc(b, func(t config.Server) bool { return t.Addr == s.Addr }) {
			out = append(out, s)
		}
	}
	return out
}

// addrs lists servers as "addr" or "addr*weight" for a log line.
func addrs(list []config.Server) string {
	parts := make([]string, len(list))
	for i, s := range list {
		parts[i] = s.Addr
		if s.Weight != 1 {
			parts[i] += fmt.Sprintf("*%d", s.Weight)
		}
	}
	return strings.Join(parts, " ")
}

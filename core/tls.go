package core

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"wsproxy/config"
	"wsproxy/internal/certs"
	"wsproxy/internal/tickets"
)

// TLS listeners (wss://, https://).
//
// Each listen entry with a tls section gets one tlsListener, shared by the
// listeners of that address on every loop. Its certificates live in a
// certs.Store, behind an atomic pointer that tls.Config.GetCertificate reads
// on every handshake, so ReloadCertificates swaps them without touching open
// connections. How one connection runs crypto/tls on the loop is in
// internal/tlsloop, its glue in tls_conn.go; TLS toward upstream servers in
// tls_upstream.go.

// tlsState is a Server's TLS side. The zero value means no TLS at all.
type tlsState struct {
	lns   map[*config.TLS]*tlsListener
	order []*tlsListener // config order, for reloads and their messages
	slots int            // handshakes that work at once on each loop

	upstreams atomic.Bool // a server with tls: true was ever configured (tls_trim.go)

	// tickets rotates the session-ticket keys of the listeners that derive
	// them from Options.TicketSecret (tls_tickets.go); nil if none does.
	tickets *tickets.Rotator

	handshakeErrors atomic.Uint64 // Stats.TLSHandshakeErrors
	goroutines      atomic.Int64  // handshake goroutines alive, parked or working
}

// tlsListener is the TLS configuration of one listen entry.
type tlsListener struct {
	field  string       // "listen[0].tls", prefixed by the config file, for messages
	certs  *certs.Store // its files (paths resolved at start) and what they held at the last (re)load
	config *tls.Config
	state  *tlsState

	ticketFiles []tickets.File // session_ticket_keys, paths resolved; none: derived keys or no tickets
}

// init loads every TLS listener's certificates; an error names the field,
// the file and what is wrong with it. (TLS upstreams' CA files are loaded
// with the upstreams: serverTLS.)
func (ts *tlsState) init(cfg *config.Config, ticketSecret []byte) error {
	prefix := ""
	if cfg.File != "" {
		prefix = cfg.File + ": "
	}
	var errs []error
	for i := range cfg.Listen {
		lc := cfg.Listen[i].TLS
		if lc == nil {
			continue
		}
		tl := &tlsListener{field: fmt.Sprintf("%slisten[%d].tls", prefix, i), state: ts}
		store, err := certs.NewStore(tl.field, listenerPairs(cfg, lc), time.Now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tl.certs = store
		tl.config = &tls.Config{
			MinVersion:       tls.VersionTLS12,
			MaxVersion:       tls.VersionTLS13,
			CipherSuites:     lc.CipherSuiteIDs(),
			CurvePreferences: lc.CurveIDs(),
			NextProtos:       []string{"http/1.1"},
			GetCertificate:   tl.certs.GetCertificate,
		}
		if lc.MinVersion == "1.3" {
			tl.config.MinVersion = tls.VersionTLS13
		}
		if err := ts.initTickets(tl, cfg, lc, ticketSecret); err != nil {
			errs = append(errs, err)
			continue
		}
		if ts.lns == nil {
			ts.lns = make(map[*config.TLS]*tlsListener)
		}
		ts.lns[lc] = tl
		ts.order = append(ts.order, tl)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// Always, even without TLS now: a reload may add a server with tls: true.
	loops := max(cfg.Loops, 1)
	ts.slots = max(2, (4*runtime.GOMAXPROCS(0)+loops-1)/loops)
	return nil
}

// listenerPairs lists the certificate files of a listener's tls section,
// relative paths resolved.
func listenerPairs(cfg *config.Config, lc *config.TLS) []certs.Pair {
	var pairs []certs.Pair
	for _, p := range lc.Pairs() {
		pairs = append(pairs, certs.Pair{Cert: cfg.Path(p.Cert), Key: cfg.Path(p.Key), CertAt: p.CertAt, KeyAt: p.KeyAt})
	}
	return pairs
}

// listener returns the TLS configuration of the listen entry whose tls
// section is lc, or nil for a plain listener.
func (ts *tlsState) listener(lc *config.TLS) *tlsListener {
	if lc == nil {
		return nil
	}
	return ts.lns[lc]
}

// ReloadCertificates reads the certificate and key files of every TLS
// listener again, and its session-ticket key files, and makes new
// handshakes use them; open connections keep theirs. A listener whose
// files fail to load (missing, unparsable, key not matching, expired, a
// key file of the wrong size) keeps its previous certificates or keys;
// the error says which file and why, and is logged too. It is safe to call
// from any goroutine, for example on SIGHUP.
func (s *Server) ReloadCertificates() error {
	var errs []error
	for _, tl := range s.tls.order {
		n, err := tl.certs.Reload(time.Now())
		if err != nil {
			s.log.Error("TLS certificate reload failed; keeping the previous certificates", "err", err)
			errs = append(errs, err)
		} else {
			s.log.Info("TLS certificates reloaded", "listener", tl.field, "certificates", n)
		}
		if err := tl.reloadTickets(); err != nil {
			s.log.Error("TLS session ticket key reload failed; keeping the previous keys", "err", err)
			errs = append(errs, err)
		} else if len(tl.ticketFiles) > 0 {
			s.log.Info("TLS session ticket keys reloaded", "listener", tl.field, "keys", len(tl.ticketFiles))
		}
	}
	return errors.Join(errs...)
}

// tlsLog logs a client's failed handshake at debug level.
func tlsLog(log *slog.Logger, peer fmt.Stringer, err error) {
	log.Debug("TLS handshake failed", "client", peer.String(), "err", err)
}

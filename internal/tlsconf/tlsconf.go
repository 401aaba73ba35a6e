// Package tlsconf holds the TLS configuration of the listeners (wss://,
// https://): for each listen entry with a tls section, the *tls.Config
// its handshakes use, built from the configuration, with its
// certificates (a certs.Store, behind an atomic pointer that
// tls.Config.GetCertificate reads on every handshake, so a reload swaps
// them without touching open connections) and its session tickets
// (initTickets).
//
// It holds no connection and runs no handshake: how one connection runs
// crypto/tls on an event loop is internal/tlsloop's, and core wires the
// two. It must not import core, the event loop (poller, internal/reactor,
// internal/sock), codec, balance or internal/tlsloop; config,
// internal/certs and internal/tickets are what it builds from.
package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"wsproxy/config"
	"wsproxy/internal/certs"
	"wsproxy/internal/tickets"
)

// Set is the TLS listeners of a Server. The zero value has none.
type Set struct {
	lns   map[*config.TLS]*Listener
	order []*Listener // config order, for reloads and their messages

	// tickets rotates the session-ticket keys of the listeners that derive
	// them from the ticket secret (initTickets); nil if none does.
	tickets *tickets.Rotator
}

// Listener is the TLS configuration of one listen entry.
type Listener struct {
	Field  string       // "listen[0].tls", prefixed by the config file, for messages
	Config *tls.Config  // what its handshakes use
	certs  *certs.Store // its files (paths resolved at start) and what they held at the last (re)load

	ticketFiles []tickets.File // session_ticket_keys, paths resolved; none: derived keys or no tickets
}

// Init loads every TLS listener's certificates; an error names the field,
// the file and what is wrong with it. ticketSecret is what derived
// session-ticket keys come from (initTickets). (TLS upstreams' CA files
// are loaded with the upstreams: internal/upstreams.)
func (s *Set) Init(cfg *config.Config, ticketSecret []byte) error {
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
		tl := &Listener{Field: fmt.Sprintf("%slisten[%d].tls", prefix, i)}
		store, err := certs.NewStore(tl.Field, listenerPairs(cfg, lc), time.Now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tl.certs = store
		tl.Config = &tls.Config{
			MinVersion:       tls.VersionTLS12,
			MaxVersion:       tls.VersionTLS13,
			CipherSuites:     lc.CipherSuiteIDs(),
			CurvePreferences: lc.CurveIDs(),
			NextProtos:       []string{"http/1.1"},
			GetCertificate:   tl.certs.GetCertificate,
		}
		if lc.MinVersion == "1.3" {
			tl.Config.MinVersion = tls.VersionTLS13
		}
		if err := s.initTickets(tl, cfg, lc, ticketSecret); err != nil {
			errs = append(errs, err)
			continue
		}
		if s.lns == nil {
			s.lns = make(map[*config.TLS]*Listener)
		}
		s.lns[lc] = tl
		s.order = append(s.order, tl)
	}
	return errors.Join(errs...)
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

// Listener returns the TLS configuration of the listen entry whose tls
// section is lc, or nil for a plain listener.
func (s *Set) Listener(lc *config.TLS) *Listener {
	if lc == nil {
		return nil
	}
	return s.lns[lc]
}

// Len is the number of TLS listeners.
func (s *Set) Len() int { return len(s.order) }

// Reload reads the certificate and key files of every TLS listener again,
// and its session-ticket key files, and makes new handshakes use them;
// open connections keep theirs. A listener whose files fail to load keeps
// its previous certificates or keys; the error says which file and why,
// and is logged to log too, as what did load is.
func (s *Set) Reload(log *slog.Logger) error {
	var errs []error
	for _, tl := range s.order {
		n, err := tl.certs.Reload(time.Now())
		if err != nil {
			log.Error("TLS certificate reload failed; keeping the previous certificates", "err", err)
			errs = append(errs, err)
		} else {
			log.Info("TLS certificates reloaded", "listener", tl.Field, "certificates", n)
		}
		if err := tl.reloadTickets(); err != nil {
			log.Error("TLS session ticket key reload failed; keeping the previous keys", "err", err)
			errs = append(errs, err)
		} else if len(tl.ticketFiles) > 0 {
			log.Info("TLS session ticket keys reloaded", "listener", tl.Field, "keys", len(tl.ticketFiles))
		}
	}
	return errors.Join(errs...)
}

// Load loads the certificates cfg names for each TLS listener, in the
// order of the listeners, without using them yet (Adopt does). cfg must
// have the listeners Init had (a reload of the same generation).
func (s *Set) Load(cfg *config.Config) ([]*certs.Store, error) {
	var stores []*certs.Store
	var errs []error
	now := time.Now()
	for i := range cfg.Listen {
		lc := cfg.Listen[i].TLS
		if lc == nil {
			continue
		}
		st, err := certs.NewStore(s.order[len(stores)].Field, listenerPairs(cfg, lc), now)
		errs = append(errs, err)
		stores = append(stores, st)
	}
	return stores, errors.Join(errs...)
}

// Adopt makes new handshakes use the certificates Load loaded, and reads
// the session-ticket key files again as Reload does (their paths cannot
// have changed); a key file that fails is logged to log and the previous
// keys stay.
func (s *Set) Adopt(stores []*certs.Store, log *slog.Logger) {
	for i, tl := range s.order {
		tl.certs.Adopt(stores[i])
		if err := tl.reloadTickets(); err != nil {
			log.Error("TLS session ticket key reload failed; keeping the previous keys", "err", err)
		}
	}
}

// Session tickets of the TLS listeners (internal/tickets has the why):
// keys derived from the ticket secret (core's Options.TicketSecret) and
// rotated by one Rotator for the whole Set, or read from the files a
// listener's session_ticket_keys names (again on Reload), or none with
// session_tickets: false.

// initTickets sets up the session tickets of tl as lc, a tls section of
// cfg, says. Key files are read here, so a missing or broken one stops
// the start with the file named.
func (s *Set) initTickets(tl *Listener, cfg *config.Config, lc *config.TLS, secret []byte) error {
	switch {
	case !lc.TicketsOn():
		tl.Config.SessionTicketsDisabled = true
	case len(lc.SessionTicketKeys) > 0:
		for i, p := range lc.SessionTicketKeys {
			at := lc.TicketKeyAt(i)
			if at == "" {
				at = fmt.Sprintf("%s.session_ticket_keys[%d]", tl.Field, i)
			}
			tl.ticketFiles = append(tl.ticketFiles, tickets.File{Path: cfg.Path(p), At: at})
		}
		return tl.reloadTickets()
	default:
		if s.tickets == nil {
			s.tickets = tickets.NewRotator(secret)
		}
		s.tickets.Add(tl.Config, time.Duration(lc.SessionTicketLifetime), time.Now())
	}
	return nil
}

// reloadTickets reads tl's key files, if it has any, and makes new
// handshakes use their keys; on an error the previous keys stay.
func (tl *Listener) reloadTickets() error {
	if len(tl.ticketFiles) == 0 {
		return nil
	}
	keys, err := tickets.ReadFiles(tl.ticketFiles)
	if err != nil {
		return err
	}
	tl.Config.SetSessionTicketKeys(keys)
	return nil
}

// StartTickets starts the rotation of the derived keys; StopTickets ends
// it. Both do nothing without derived keys.
func (s *Set) StartTickets() {
	if s.tickets != nil {
		s.tickets.Start()
	}
}

// StopTickets: see StartTickets.
func (s *Set) StopTickets() {
	if s.tickets != nil {
		s.tickets.Stop()
	}
}

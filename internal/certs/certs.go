// Package certs loads the certificates of a TLS listener and picks one per
// handshake by SNI name.
//
// A Store holds one listener's certificate and key files and the Set last
// loaded from them, behind an atomic pointer: GetCertificate reads it on
// every handshake (any goroutine) and Reload swaps in a new Set without
// touching open connections. Errors name the configuration line of the
// file at fault, then the file and what is wrong with it.
package certs

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Pair is a PEM certificate chain (leaf first) and its private key, both
// paths. CertAt and KeyAt say where they are written in the configuration
// ("FILE:LINE: listen[0].tls.cert"), for errors; empty in a configuration
// built in code.
type Pair struct {
	Cert, Key     string
	CertAt, KeyAt string
}

// Store is one listener's certificates: the files, and the Set loaded
// from them last.
type Store struct {
	field string     // "listen[0].tls": where errors point without CertAt/KeyAt
	mu    sync.Mutex // guards pairs: Reload and Adopt may run at once
	pairs []Pair     // default first
	set   atomic.Pointer[Set]
}

// NewStore loads pairs, valid at now, into a Store; field names the
// listener in errors for pairs without positions.
func NewStore(field string, pairs []Pair, now time.Time) (*Store, error) {
	s := &Store{field: field, pairs: pairs}
	if _, err := s.Reload(now); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the files again and makes new handshakes use them; it
// returns how many certificates were loaded. When any file fails to load
// (missing, unparsable, key not matching, expired at now), the previous
// certificates stay and the error names every file at fault. It is safe
// to call from any goroutine.
func (s *Store) Reload(now time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set := NewSet()
	var errs []error
	for _, p := range s.pairs {
		cert, err := Load(p.Cert, p.Key, now)
		if err != nil {
			at := p.CertAt
			if errors.As(err, new(keyError)) {
				at = p.KeyAt
			}
			if at == "" {
				at = s.field
			}
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			continue
		}
		set.Add(cert)
	}
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	s.set.Store(set)
	return len(set.certs), nil
}

// Adopt makes s serve the files and certificates of o, a Store loaded
// with a new configuration's pairs: new handshakes use them, open
// connections keep theirs, and later Reloads read o's files.
func (s *Store) Adopt(o *Store) {
	o.mu.Lock()
	pairs, set := o.pairs, o.set.Load()
	o.mu.Unlock()
	s.mu.Lock()
	s.pairs = pairs
	s.set.Store(set)
	s.mu.Unlock()
}

// GetCertificate is a tls.Config.GetCertificate: the certificate for the
// client's SNI name (Set.Pick) from the Set loaded last.
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.set.Load().Pick(hello.ServerName), nil
}

// Set is one generation of a listener's certificates. Its zero value is
// not usable; NewSet makes one. It is not changed after it is published.
type Set struct {
	certs []*tls.Certificate          // config order; certs[0] is the default
	exact map[string]*tls.Certificate // lower-case DNS name
	wild  map[string]*tls.Certificate // "example.com" for "*.example.com"
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{exact: make(map[string]*tls.Certificate), wild: make(map[string]*tls.Certificate)}
}

// Add appends cert, whose Leaf must be set, and indexes it by the names of
// its leaf; a name claimed by an earlier certificate stays with that one.
func (cs *Set) Add(cert *tls.Certificate) {
	cs.certs = append(cs.certs, cert)
	names := cert.Leaf.DNSNames
	if len(names) == 0 && cert.Leaf.Subject.CommonName != "" {
		names = []string{cert.Leaf.Subject.CommonName}
	}
	for _, n := range names {
		n = strings.ToLower(n)
		m := cs.exact
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			m, n = cs.wild, rest
		}
		if _, dup := m[n]; !dup {
			m[n] = cert
		}
	}
}

// Pick chooses the certificate for an SNI name: an exact match, then a
// wildcard for the name's parent domain, then the default (the first
// added). The Set must hold at least one certificate.
func (cs *Set) Pick(serverName string) *tls.Certificate {
	if serverName != "" {
		name := strings.ToLower(strings.TrimSuffix(serverName, "."))
		if c := cs.exact[name]; c != nil {
			return c
		}
		if label, parent, ok := strings.Cut(name, "."); ok && label != "" {
			if c := cs.wild[parent]; c != nil {
				return c
			}
		}
	}
	return cs.certs[0]
}

package core

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"wsproxy/internal/config"
)

// TLS listeners (wss://, https://).
//
// Each listen entry with a tls section gets one tlsListener, shared by the
// listeners of that address on every loop. Its certificates live behind an
// atomic pointer that tls.Config.GetCertificate reads on every handshake, so
// ReloadCertificates swaps them without touching open connections. How one
// connection runs crypto/tls on the loop is in tls_conn.go and
// tls_handshake.go; TLS toward upstream servers in tls_upstream.go.

// tlsState is a Server's TLS side. The zero value means no TLS at all.
type tlsState struct {
	lns    map[*config.TLS]*tlsListener
	order  []*tlsListener // config order, for reloads and their messages
	queues []hsQueue      // per Loop.id: handshakes waiting for a goroutine

	// ups holds the client configuration of each upstream server with
	// tls: true. Read-only after init.
	ups map[*server]*tls.Config

	handshakeErrors atomic.Uint64 // Stats.TLSHandshakeErrors
	goroutines      atomic.Int64  // handshake goroutines alive, parked or working
}

// tlsListener is the TLS configuration of one listen entry.
type tlsListener struct {
	field  string            // "listen[0].tls", prefixed by the config file, for messages
	pairs  []config.CertPair // paths as resolved at start, default first
	certs  atomic.Pointer[certSet]
	config *tls.Config
	state  *tlsState
}

// certSet is one generation of a listener's certificates.
type certSet struct {
	certs []*tls.Certificate          // config order; certs[0] is the default
	exact map[string]*tls.Certificate // lower-case DNS name
	wild  map[string]*tls.Certificate // "example.com" for "*.example.com"
}

// init loads every TLS listener's certificates and every TLS upstream's
// CA file; an error names the field, the file and what is wrong with it.
func (ts *tlsState) init(cfg *config.Config, ups map[string]*upstream) error {
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
		tl.pairs = lc.Pairs()
		for j := range tl.pairs {
			tl.pairs[j].Cert = resolvePath(cfg.File, tl.pairs[j].Cert)
			tl.pairs[j].Key = resolvePath(cfg.File, tl.pairs[j].Key)
		}
		set, err := tl.load(time.Now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		tl.certs.Store(set)
		tl.config = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			MaxVersion:     tls.VersionTLS13,
			CipherSuites:   lc.CipherSuiteIDs(),
			NextProtos:     []string{"http/1.1"},
			GetCertificate: tl.getCertificate,
		}
		if lc.MinVersion == "1.3" {
			tl.config.MinVersion = tls.VersionTLS13
		}
		if ts.lns == nil {
			ts.lns = make(map[*config.TLS]*tlsListener)
		}
		ts.lns[lc] = tl
		ts.order = append(ts.order, tl)
	}
	errs = append(errs, ts.initUpstreams(cfg, ups))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(ts.order) > 0 || len(ts.ups) > 0 {
		loops := max(cfg.Loops, 1)
		ts.queues = make([]hsQueue, loops)
		limit := max(2, (4*runtime.GOMAXPROCS(0)+loops-1)/loops)
		for i := range ts.queues {
			ts.queues[i].limit = limit
		}
	}
	return nil
}

// listener returns the TLS configuration of the listen entry whose tls
// section is lc, or nil for a plain listener.
func (ts *tlsState) listener(lc *config.TLS) *tlsListener {
	if lc == nil {
		return nil
	}
	return ts.lns[lc]
}

// resolvePath makes a relative path relative to the directory of the
// configuration file, as nginx does with its prefix.
func resolvePath(cfgFile, p string) string {
	if p == "" || filepath.IsAbs(p) || cfgFile == "" {
		return p
	}
	return filepath.Join(filepath.Dir(cfgFile), p)
}

// ReloadCertificates reads the certificate and key files of every TLS
// listener again and makes new handshakes use them; open connections keep
// theirs. A listener whose files fail to load (missing, unparsable, key not
// matching, expired) keeps its previous certificates; the error says which
// file and why, and is logged too. It is safe to call from any goroutine,
// for example on SIGHUP.
func (s *Server) ReloadCertificates() error {
	var errs []error
	for _, tl := range s.tls.order {
		set, err := tl.load(time.Now())
		if err != nil {
			s.log.Error("TLS certificate reload failed; keeping the previous certificates", "err", err)
			errs = append(errs, err)
			continue
		}
		tl.certs.Store(set)
		s.log.Info("TLS certificates reloaded", "listener", tl.field, "certificates", len(set.certs))
	}
	return errors.Join(errs...)
}

// load reads the listener's certificate files into a new certSet.
func (tl *tlsListener) load(now time.Time) (*certSet, error) {
	set := &certSet{exact: make(map[string]*tls.Certificate), wild: make(map[string]*tls.Certificate)}
	var errs []error
	for _, p := range tl.pairs {
		cert, err := loadCertificate(p.Cert, p.Key, now)
		if err != nil {
			at := p.CertAt // "FILE:LINE: listen[0].tls.cert"
			if errors.As(err, new(keyError)) {
				at = p.KeyAt
			}
			if at == "" { // a configuration built in code
				at = tl.field
			}
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
			continue
		}
		set.add(cert)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return set, nil
}

// add appends cert and indexes it by the names of its leaf; a name claimed
// by an earlier certificate stays with that one.
func (cs *certSet) add(cert *tls.Certificate) {
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

// pick chooses the certificate for an SNI name: an exact match, then a
// wildcard for the name's parent domain, then the default.
func (cs *certSet) pick(serverName string) *tls.Certificate {
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

func (tl *tlsListener) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return tl.certs.Load().pick(hello.ServerName), nil
}

// loadCertificate reads a PEM certificate chain (leaf first) and its
// private key, and checks that they belong together and that the leaf is
// valid at now. Errors name the file at fault.
func loadCertificate(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	certPEM, err := readPEMFile("certificate", certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEMFile("key", keyFile)
	if err != nil {
		return nil, keyError{err}
	}
	var leafDER []byte
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("certificate %s: holds a private key, not a certificate (cert and key swapped?)", certFile)
		}
		if b.Type == "CERTIFICATE" && leafDER == nil {
			leafDER = b.Bytes
		}
	}
	if leafDER == nil {
		return nil, fmt.Errorf("certificate %s: no PEM CERTIFICATE block", certFile)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %v", certFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err != nil && strings.Contains(err.Error(), "does not match"):
		return nil, keyError{fmt.Errorf("key %s does not match certificate %s", keyFile, certFile)}
	case err != nil:
		return nil, keyError{fmt.Errorf("key %s (for certificate %s): %v", keyFile, certFile, err)}
	}
	cert.Leaf = leaf
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("certificate %s (%s): expired at %s", certFile, leafName(leaf), leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("certificate %s (%s): not valid before %s", certFile, leafName(leaf), leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

// keyError marks an error of loadCertificate as the key file's, so that it
// is reported at the key's line of the configuration.
type keyError struct{ error }

func (e keyError) Unwrap() error { return e.error }

// readPEMFile reads a certificate or key file; what says which, for the
// error.
func readPEMFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is in the message already
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", what, path, err)
	}
	return b, nil
}

// leafName names a certificate in messages by its first DNS name.
func leafName(c *x509.Certificate) string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	return "CN=" + c.Subject.CommonName
}

// tlsLog logs a client's failed handshake at debug level.
func tlsLog(log *slog.Logger, peer fmt.Stringer, err error) {
	log.Debug("TLS handshake failed", "client", peer.String(), "err", err)
}

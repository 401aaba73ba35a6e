package core

import (
	"fmt"
	"log/slog"
	"runtime"
	"sync/atomic"

	"wsproxy/config"
	"wsproxy/internal/tlsconf"
)

// TLS listeners (wss://, https://).
//
// Each listen entry with a tls section gets one tlsconf.Listener, shared
// by the listeners of that address on every loop: internal/tlsconf builds
// its tls.Config from the configuration, with its certificates and
// session tickets, and reloads their files. How one connection runs
// crypto/tls on the loop is in internal/tlsloop, its glue in tls_conn.go;
// TLS toward upstream servers in tls_upstream.go.

// tlsState is a Server's TLS side. The zero value means no TLS at all.
type tlsState struct {
	conf  tlsconf.Set // the listeners' configurations, certificates and ticket keys
	slots int         // handshakes that work at once on each loop

	upstreams atomic.Bool // a server with tls: true was ever configured (tls_trim.go)

	handshakeErrors atomic.Uint64 // Stats.TLSHandshakeErrors
	goroutines      atomic.Int64  // handshake goroutines alive, parked or working
}

// init loads every TLS listener's certificates and session-ticket keys
// (tlsconf.Set.Init); ticketSecret is Options.TicketSecret.
func (ts *tlsState) init(cfg *config.Config, ticketSecret []byte) error {
	if err := ts.conf.Init(cfg, ticketSecret); err != nil {
		return err
	}
	// Always, even without TLS now: a reload may add a server with tls: true.
	loops := max(cfg.Loops, 1)
	ts.slots = max(2, (4*runtime.GOMAXPROCS(0)+loops-1)/loops)
	return nil
}

// ReloadCertificates reads the certificate and key files of every TLS
// listener again, and its session-ticket key files, and makes new
// handshakes use them; open connections keep theirs. A listener whose
// files fail to load (missing, unparsable, key not matching, expired, a
// key file of the wrong size) keeps its previous certificates or keys;
// the error says which file and why, and is logged too. It is safe to call
// from any goroutine, for example on SIGHUP.
func (s *Server) ReloadCertificates() error { return s.tls.conf.Reload(s.log) }

// tlsLog logs a client's failed handshake at debug level.
func tlsLog(log *slog.Logger, peer fmt.Stringer, err error) {
	log.Debug("TLS handshake failed", "client", peer.String(), "err", err)
}

package core

import "wsproxy/internal/reactor"

// Dropping the input buffers crypto/tls keeps after they are empty
// (internal/tlstrim says why and how) happens in internal/tlsloop: after
// the handshake, and after a read that took all the input, for the first
// few such reads of a connection between two sweeps. trimTLS is the sweep.
// Options.NoTLSTrim turns it off, to measure what it saves.

// trimTLS drops the empty input buffers of every established TLS endpoint
// of the loop, client and upstream side. The housekeeper calls it once a
// second; it walks the descriptor table, about 20 µs for 20,000 entries,
// and does nothing when no TLS is configured.
func (l *Loop) trimTLS() {
	if l.srv == nil || !l.srv.tlsTrim || l.srv.tls.conf.Len() == 0 && !l.srv.tls.upstreams.Load() {
		return
	}
	l.Each(func(_ int, h reactor.Handler) {
		if e, ok := h.(*endpoint); ok && e.tls != nil {
			e.tls.Sweep()
		}
	})
}

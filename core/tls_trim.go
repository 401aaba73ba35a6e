package core

import (
	"crypto/tls"

	"wsproxy/internal/reactor"
	"wsproxy/internal/tlstrim"
)

// Dropping the input buffers crypto/tls keeps after they are empty
// (internal/tlstrim says why and how): after the handshake
// (handshakeDone); after a read that took all the input (tlsRead), for the
// first trimReads such reads of a connection in each second; and once a
// second from the loop's housekeeper for every established TLS endpoint
// (Loop.trimTLS), which also starts the count of reads again.
// Options.NoTLSTrim turns it off, to measure what it saves.

// trimInput drops c's empty input buffers unless trimming is off.
func (l *Loop) trimInput(c *tls.Conn) {
	if l.srv.tlsTrim {
		tlstrim.Input(c)
	}
}

// trimTLS drops the empty input buffers of every established TLS endpoint
// of the loop, client and upstream side (see trimTLSInput). The housekeeper
// calls it once a second; it walks the descriptor table, about 20 µs for
// 20,000 entries, and does nothing when no TLS is configured.
func (l *Loop) trimTLS() {
	if l.srv == nil || !l.srv.tlsTrim || len(l.srv.tls.lns) == 0 && len(l.srv.tls.ups) == 0 {
		return
	}
	l.Each(func(_ int, h reactor.Handler) {
		if e, ok := h.(*endpoint); ok && e.tls != nil && e.tls.phase == tlsReady && e.tls.conn != nil {
			e.tls.reads = 0
			tlstrim.Input(e.tls.conn)
		}
	})
}

// trimReads is how many reads of a connection trim its buffers between two
// sweeps; later ones leave them for the sweep.
const trimReads = 4

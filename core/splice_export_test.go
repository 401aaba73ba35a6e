package core

import "wsproxy/internal/sock"

// SpliceStats sums over s's loops the payload bytes spliced per direction
// (0: client to upstream), the pipes connections hold now and the pipes
// open (held or pooled). The counters are atomic: any goroutine may call it.
func SpliceStats(s *Server) (bytes [2]uint64, held, open int) {
	for _, l := range s.loops {
		for d := range bytes {
			bytes[d] += l.pipes.bytes[d].Load()
		}
		held += int(l.pipes.Held.Load())
		open += int(l.pipes.Made.Load())
	}
	return bytes, held, open
}

// SpliceSupported reports whether this platform splices.
const SpliceSupported = sock.SpliceSupported

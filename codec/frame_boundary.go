package codec

// AtBoundary reports whether the scanner stands between two frames: no
// payload of the current frame is left and no partial header is held. A
// proxy may inject a frame of its own (a Close, a Ping) only there.
func (s *FrameScanner) AtBoundary() bool { return s.remaining == 0 && s.hn == 0 }

// Boundary returns the length of the shortest prefix of buf that ends at a
// frame boundary, without advancing s, or -1 if no boundary falls within
// buf (0 means s is at one now). The first boundary is where the current
// frame ends: after its payload, or after its header if the payload is
// empty.
func (s *FrameScanner) Boundary(buf []byte) int {
	if s.AtBoundary() {
		return 0
	}
	if s.bad {
		return -1
	}
	t := *s
	off := 0
	if t.hn > 0 {
		// Finish the held header; with nothing left of a payload, Scan
		// stops right after it.
		n, _, ok, err := t.Scan(buf)
		if err != nil || !ok {
			return -1
		}
		off = n
	}
	if int64(len(buf)-off) < t.remaining {
		return -1
	}
	return off + int(t.remaining)
}

// Skip steps over n payload bytes of the current frame that the caller
// moved past the scanner without showing them to it (spliced from socket
// to socket). n must be between 0 and Remaining(); Skip panics otherwise,
// since a scanner that lost count would misread every header after.
func (s *FrameScanner) Skip(n int64) {
	if n < 0 || n > s.remaining {
		panic("codec: FrameScanner.Skip beyond the current frame's payload")
	}
	s.remaining -= n
}

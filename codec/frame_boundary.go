package codec

// AtBoundary reports whether the scanner stands between two frames: no
// payload of the current frame is left and no partial header is held. A
// proxy may inject a frame of its own (a Close, a Ping) only there.
func (s *FrameScanner) AtBoundary() bool { return s.remaining == 0 && s.hn == 0 }

// Boundary returns the length of the longest prefix of buf that ends at a
// frame boundary, scanning with a copy of s so that s itself is not
// advanced, or -1 if no boundary falls within buf (0 means s is at one now).
func (s *FrameScanner) Boundary(buf []byte) int {
	if s.AtBoundary() {
		return 0
	}
	t := *s
	off := 0
	for off < len(buf) {
		n, _, _, err := t.Scan(buf[off:])
		if err != nil {
			return -1
		}
		off += n
		if t.AtBoundary() {
			return off
		}
	}
	return -1
}

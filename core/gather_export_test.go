package core

// ConnsPerLoop returns how many client connections each of s's loops
// holds, counted on the loops.
func ConnsPerLoop(s *Server) []int {
	n := make([]int, len(s.loops))
	s.each(func(l *Loop) { n[l.ID] = l.conns })
	return n
}

// SetMoveChunk makes a sweep hand over at most n tunnels per cycle until
// restore is called. Call it before the Server starts and restore it
// after it has closed.
func SetMoveChunk(n int) (restore func()) {
	old := moveChunk
	moveChunk = n
	return func() { moveChunk = old }
}

// Spreading reports whether s's first loop is still handing out its
// tunnels after SetProcs gave the process its Ps back.
func Spreading(s *Server) bool { return moveMode(s.move.Load()) == moveSpread }

package core

// TunnelsPerLoop returns how many tunnels of the route named name (host
// and path: "/" for path /) each of s's loops holds, counted on the loops.
func TunnelsPerLoop(s *Server, name string) []int {
	n := make([]int, len(s.loops))
	s.each(func(l *Loop) {
		l.eachConn(func(c *conn) {
			if c.st == stTunnel && c.rt != nil && c.rt.name == name {
				n[l.ID]++
			}
		})
	})
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

// HoldMoves is s.holdMoves.
func HoldMoves(s *Server) (release func()) { return s.holdMoves() }

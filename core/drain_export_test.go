package core

import "time"

// DrainSpread is s.Drain(timeout) with the closes of what is left spread
// over the last spread of timeout instead of the last quarter.
func DrainSpread(s *Server, timeout, spread time.Duration) { s.drain(timeout, spread) }

package core

// TLSHandshakeState is what TLS handshakes hold on a Server at one moment.
type TLSHandshakeState struct {
	Running, Waiting, Limit int // slots in use, connections waiting for one, slots (summed over loops)
	Goroutines              int // handshake goroutines alive, parked or working
	EarlyConns, EarlyBytes  int // clients with a partial first flight, and its bytes
}

// TLSHandshakes asks each of s's loops, which own the slots and the
// connections, what their TLS handshakes hold now.
func TLSHandshakes(s *Server) TLSHandshakeState {
	st := TLSHandshakeState{Goroutines: int(s.tls.goroutines.Load())}
	for _, l := range s.loops {
		done := make(chan struct{})
		if !l.Submit(func() {
			defer close(done)
			running, waiting, limit := l.tls.Slots()
			st.Running += running
			st.Waiting += waiting
			st.Limit += limit
			l.eachConn(func(c *conn) {
				if t := c.cl.tls; t != nil && t.Early() > 0 {
					n := t.Early()
					st.EarlyConns++
					st.EarlyBytes += n
				}
			})
		}) {
			continue
		}
		<-done
	}
	return st
}

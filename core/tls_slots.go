package core

// The handshake slots of a loop: how many TLS handshakes work at once.

// hsQueue bounds the handshakes of one loop that work at once: a slot is
// held from the start of a handshake's goroutine while it has input, and
// again each time input comes after it parked. It is owned by the loop.
type hsQueue struct {
	running, limit int
	// FIFO of connections waiting for a slot: to start (tlsWaiting), or
	// to go on with input (hs.queued). Entries that no longer wait (closed,
	// done) are skipped.
	wait []*tlsConn
}

// enter starts t's handshake, or queues it until a slot frees.
func (q *hsQueue) enter(t *tlsConn) {
	if q.running < q.limit {
		q.running++
		t.start(t.e.l)
		return
	}
	t.phase = tlsWaiting
	q.wait = append(q.wait, t)
}

// resume gives t's parked goroutine a slot for the input it has, or queues
// it until one frees.
func (q *hsQueue) resume(t *tlsConn) {
	if q.running < q.limit {
		q.running++
		t.hs.grant()
		return
	}
	t.hs.queued = true
	q.wait = append(q.wait, t)
}

// release frees hs's slot, if it holds one, and gives it to the first
// connection waiting.
func (q *hsQueue) release(hs *tlsHandshake) {
	if !hs.slot {
		return
	}
	hs.slot = false
	q.running--
	for len(q.wait) > 0 && q.running < q.limit {
		t := q.wait[0]
		q.wait[0] = nil
		q.wait = q.wait[1:]
		switch {
		case t.phase == tlsWaiting:
			q.running++
			t.start(hs.l)
			t.e.c.updateInterest() // it may read again
		case t.phase == tlsHandshaking && t.hs.queued:
			t.hs.queued = false
			q.running++
			t.hs.grant()
		}
	}
	if len(q.wait) == 0 {
		q.wait = q.wait[:0:0]
	}
}

// parked runs on the loop once the goroutine of hs has given its slot back
// to wait for input. Input the loop read meanwhile wants a slot again.
func (t *tlsConn) parked(hs *tlsHandshake) {
	q := &hs.l.srv.tls.queues[hs.l.ID]
	q.release(hs)
	if t.hs == hs && t.phase == tlsHandshaking && !hs.queued && hs.buffered() > 0 {
		q.resume(t)
	}
}

// grant lets the goroutine go on with a slot its loop has counted for it.
func (hs *tlsHandshake) grant() {
	hs.slot = true
	hs.mu.Lock()
	hs.run = true
	hs.cond.Signal()
	hs.mu.Unlock()
}

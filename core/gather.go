package core

import "time"

// Tunnels change loops with the process's P count. While the procs
// governor (internal/procgov) runs the process on one P, its loops take
// turns on one thread: every wake-up of the runtime's netpoller then
// readies each loop that has an event, each makes its own look and sends
// its own half of the cycle's batch. One loop carrying them all costs
// 6-11 % less CPU per relayed message on the echo load (BENCHMARKS.md,
// "One loop instead of two", "Tunnels gather on one loop"). So, on one P,
// the loops other than the first hand their tunnels to it (gather); once
// the process gets its Ps back, the first hands out all but its share of
// them to the others in turn (spread), so that every P has loops to run.
//
// A tunnel moves when it is busy (it has carried a stream and read a byte
// in the last second: where an idle one waits makes no difference) and
// could leave for another process (handover.go): at a frame boundary both
// ways, nothing queued or batched; a TLS tunnel too, once crypto/tls
// holds nothing of it unread or unsent (tlsloop.Conn.Movable). It is unregistered from its loop's poller, its
// timer cancelled, and registered on the other loop by that loop's
// goroutine (Loop.Submit), timer and interest as they were; the sockets
// stay open, so bytes that arrive meanwhile wait in them, and the
// level-triggered registration reports them. Anything else stays where it
// is (an HTTP exchange ends soon) and is looked at again by the next
// sweep: a gathering loop sweeps once a second. A drain, a hand-over or
// Close freezes the loops first (freezeMoves), so that no tunnel is in
// flight between loops while they visit every connection.

// moveChunk is how many tunnels a loop hands over in one go; the rest of
// the sweep goes on in the next cycle (Loop.Later), so that a loop of
// thousands does not stop relaying for all of it; and moveScan how many
// descriptors one go looks at. A variable for the tests.
var moveChunk = 64

const moveScan = 16384

// Only a busy tunnel moves: one that has carried a stream (moveMessages
// messages or moveBytes bytes so far) and read a byte within moveIdle.
// Where an idle one waits makes no difference to anything, and moving it
// costs four epoll_ctl: moving every tunnel that read a byte made two
// more system calls per handshake in a ramp of clients that each send a
// message once up, and 0.64-0.66× HAProxy's CPU per handshake against
// 0.54 (BENCHMARKS.md, "Tunnels gather on one loop"). So a ramp of new
// tunnels, or thousands of idle ones, stay where they were accepted.
const (
	moveIdle     = time.Second
	moveMessages = 8
	moveBytes    = 1 << 20
)

// busy reports whether c is a busy tunnel (above) at now. A read moves
// active on from the start of the tunnel.
func (c *conn) busy(now int64) bool {
	o := &c.obs
	return c.active > o.start && now-c.active < int64(moveIdle) &&
		(uint64(o.msgs[0])+uint64(o.msgs[1]) >= moveMessages || o.bytes[0]+o.bytes[1] >= moveBytes)
}

// moveMode is where a Server's tunnels go (Server.move).
type moveMode int32

const (
	moveStay   moveMode = iota // each loop keeps its own
	moveGather                 // loops other than the first hand theirs to it
	moveSpread                 // the first hands out all but its share, once
	moveFrozen                 // draining, handing over or closed: nothing moves
)

// SetProcs tells s how many Ps the process runs on now (the procs
// governor's count): one gathers the tunnels on the first loop, more
// spreads them again. Safe from any goroutine; calls must not overlap.
func (s *Server) SetProcs(n int) {
	if len(s.loops) < 2 {
		return
	}
	want := moveSpread
	if n <= 1 {
		want = moveGather
	}
	for {
		cur := moveMode(s.move.Load())
		if cur == moveFrozen || cur == want || want == moveSpread && cur == moveStay {
			return // frozen, or there already
		}
		if s.move.CompareAndSwap(int32(cur), int32(want)) {
			break
		}
	}
	for _, l := range s.loops {
		if (want == moveGather) == (l.ID != 0) {
			l.Submit(func() { l.startSweep(true) })
		}
	}
}

// freezeMoves stops tunnels moving for good and returns once none is in
// flight (settleMoves). Call it from outside the loops.
func (s *Server) freezeMoves() {
	if moveMode(s.move.Swap(int32(moveFrozen))) != moveFrozen {
		s.settleMoves()
	}
}

// holdMoves stops tunnels moving until release is called, and returns
// once none is in flight (settleMoves): for a pass over every loop that
// must find each tunnel of a kind, such as the closes of a drained
// server (spreadGoingAway). Call it from outside the loops.
func (s *Server) holdMoves() (release func()) {
	s.holds.Add(1)
	s.settleMoves()
	return func() { s.holds.Add(-1) }
}

// settleMoves returns once no tunnel that a sweep started before the
// call hands over is in flight: a loop's sweep runs in one of its
// callbacks and submits what it hands over before it returns, so after
// one empty task on every loop every hand-over has been submitted, and
// after a second every one has arrived.
func (s *Server) settleMoves() {
	if len(s.loops) > 1 {
		s.each(func(*Loop) {})
		s.each(func(*Loop) {})
	}
}

// sweepWanted reports whether mode, the Server's, asks l to hand tunnels
// over now (held: not now, but the pass under way resumes later).
func (l *Loop) sweepWanted(mode moveMode) (wanted, held bool) {
	switch {
	case mode == moveGather && l.ID != 0, mode == moveSpread && l.ID == 0:
		held := l.srv.holds.Load() > 0
		return !held, held
	}
	return false, false
}

// startSweep starts a pass over l's descriptors, or resumes the one under
// way (a second chain of chunks going on from the same place only ends
// it sooner). restart starts it over from the first descriptor: the
// mode has changed.
func (l *Loop) startSweep(restart bool) {
	if restart || l.moveAt < 0 {
		l.moveAt = 0
	}
	l.sweep()
}

// sweep hands up to moveChunk of l's tunnels, looking at up to moveScan
// descriptors from l.moveAt on, to where the Server's mode sends them,
// and goes on in the next cycle until the table ends or the mode no
// longer asks it of l. Held, it stops where it is, for the housekeeper to
// resume.
func (l *Loop) sweep() {
	s := l.srv
	mode := moveMode(s.move.Load())
	wanted, held := l.sweepWanted(mode)
	if l.moveAt < 0 || !wanted {
		if !held {
			l.moveAt = -1
		}
		return
	}
	l.Sends.Flush() // a tunnel leaves with nothing of it unsent in the loop
	n := len(s.loops)
	var out [][]*conn
	fd, now := l.moveAt, l.Now.UnixNano()
	end := l.Slots()
	last := min(end, fd+moveScan)
	for moved := 0; fd < last && moved < moveChunk; fd++ {
		e, ok := l.Handler(fd).(*endpoint)
		if !ok || e.c == nil || e != &e.c.cl || !e.c.busy(now) || e.c.tunnelCheck(true) != hoNow {
			continue
		}
		to := 0
		if mode == moveSpread {
			l.spreadNext = (l.spreadNext + 1) % n
			if to = l.spreadNext; to == 0 {
				continue // its share stays
			}
		}
		if out == nil {
			out = make([][]*conn, n)
		}
		e.c.leave()
		out[to] = append(out[to], e.c)
		moved++
	}
	for to, cs := range out {
		if len(cs) > 0 {
			l.handTo(s.loops[to], cs)
		}
	}
	if fd >= end {
		l.moveAt = -1
		if mode == moveSpread {
			s.move.CompareAndSwap(int32(moveSpread), int32(moveStay))
		}
		return
	}
	l.moveAt = fd
	l.Later(l.sweep)
}

// handTo gives the tunnels cs, which have left l, to loop to, their
// count in the route's gauges moved first (a scrape meanwhile sees each
// tunnel once); if to has stopped they come back to l.
func (l *Loop) handTo(to *Loop, cs []*conn) {
	gauges := func(from, to *Loop) {
		for _, c := range cs {
			c.rt.obs.Loops[from.ID].Tunnels.Add(-1)
			c.rt.obs.Loops[to.ID].Tunnels.Add(1)
		}
	}
	gauges(l, to)
	if to.Submit(func() {
		for _, c := range cs {
			to.adopt(c)
		}
	}) {
		l.srv.stats.moved.Add(uint64(len(cs)))
		return
	}
	gauges(to, l)
	for _, c := range cs {
		l.adopt(c)
	}
}

// leave takes c, a tunnel that may leave (tunnelCheck), off its loop: off
// the poller, the timer wheel and the loop's count (the route's gauges
// move in handTo, or in detach). Its sockets stay open.
func (c *conn) leave() {
	l := c.cl.l
	l.Wheel.Cancel(&c.tm)
	for _, e := range [2]*endpoint{&c.cl, c.up} {
		l.Unregister(e.FD())
		e.flags &^= epRegistered
		e.Release()
		e.dropPipe(l) // an empty one: pending() counts what a pipe holds
	}
	l.conns--
}

// adopt makes c, which has left its loop, a tunnel of l, its interest and
// timer as they were; one whose sockets cannot be registered is closed.
func (l *Loop) adopt(c *conn) {
	c.cl.l, c.up.l = l, l
	l.conns++
	for _, e := range [2]*endpoint{&c.cl, c.up} {
		if e.tls != nil {
			e.tls.MoveTo(&l.tls)
		}
		if err := l.Register(e.FD(), e, e.events.event()); err != nil {
			l.Log.Error("cannot register a tunnel moved between loops; closing it", "fd", e.FD(), "err", err)
			l.obs.AddPollError()
			c.close()
			return
		}
		e.flags |= epRegistered
	}
	c.onTunnelTimer()
}

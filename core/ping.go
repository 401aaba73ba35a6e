package core

import (
	"time"

	"github.com/gobwas/ws"

	"wsproxy/codec"
	"wsproxy/internal/closerule"
)

// pingState is kept by tunnels of routes that ping. Index: the peer (0
// client, 1 upstream), which is also the direction its frames travel.
type pingState struct {
	lastHeard [2]int64 // unix nanos of the last frame from the peer
	// sent is when our last Ping toward the peer went out, 0 once its
	// Pong came back (or none was sent). Any frame heard from the peer
	// after it proves the peer alive, but sent stays set until the Pong:
	// the Pong that answers it is swallowed only while it is set, and a
	// peer may well send other frames first (a heartbeat Pong of its own).
	sent  [2]int64
	armed int64 // unix nanos the tunnel's timer is set for
}

// pingPayload marks the proxy's Pings; a Pong carrying it from a peer with
// a Ping outstanding is the answer and is not forwarded.
var pingPayload = []byte("wsproxy!")

// isOurPong reports whether the Pong frame with header h, whose payload
// starts at next, answers the proxy's Ping: its payload is pingPayload
// (unmasked). Any other Pong, a heartbeat of the peer's own or the answer
// to a Ping from the other side, is forwarded. So is one whose payload
// this read does not carry whole: the proxy cannot take back a header it
// has let through, and an unsolicited Pong is harmless to its receiver
// (RFC 6455, 5.5.3); the frame still counts as heard from the peer.
func isOurPong(h ws.Header, next []byte) bool {
	if h.Length != int64(len(pingPayload)) || len(next) < len(pingPayload) {
		return false
	}
	for i, b := range pingPayload {
		got := next[i]
		if h.Masked {
			got ^= h.Mask[i%4]
		}
		if got != b {
			return false
		}
	}
	return true
}

func (c *conn) idleTimeout() time.Duration {
	if d := c.rt.ws.Idle; d > 0 {
		return d
	}
	return c.settings().timeouts.Idle
}

// startTunnel arms the tunnel's timer after the 101.
func (c *conn) startTunnel() {
	now := c.cl.l.Now.UnixNano()
	c.active = now
	if c.rt.ws.Ping != nil {
		c.ping = &pingState{lastHeard: [2]int64{now, now}}
	}
	c.onTunnelTimer()
}

// onTunnelTimer enforces the idle timeout and runs the pings; it re-arms
// the timer for the earliest next deadline.
func (c *conn) onTunnelTimer() {
	l := c.cl.l
	now := l.Now.UnixNano()
	if c.flags&cfGoingAway != 0 {
		c.close() // the peers did not answer our Close in time
		return
	}
	next := c.active + int64(c.idleTimeout())
	if now >= next {
		c.goingAway(closerule.Idle)
		return
	}
	if p, pol := c.ping, c.rt.ws.Ping; p != nil {
		for peer := toUpstream; peer <= toClient; peer++ {
			if !pol.Peers[peer] {
				continue
			}
			var due int64
			switch {
			case p.sent[peer] != 0 && p.lastHeard[peer] < p.sent[peer]:
				due = p.sent[peer] + int64(pol.Timeout)
				if now >= due {
					c.deadPeer(peer)
					return
				}
			case now >= p.lastHeard[peer]+int64(pol.Interval):
				due = now + int64(time.Second) // toward the peer mid-frame: try again soon
				if c.sendPing(peer) {
					p.sent[peer] = now
					due = now + int64(pol.Timeout)
				}
			default: // heard since the Ping, if any: alive
				due = p.lastHeard[peer] + int64(pol.Interval)
			}
			next = min(next, due)
		}
		p.armed = next
	}
	c.schedule(time.Duration(next - now))
}

// heardPong is called when the peer answered our Ping: the timer, armed
// for the answer's deadline, is brought forward to the next Ping's time
// (interval after now) if that is earlier, so that pings keep their
// interval when it is shorter than the timeout.
func (c *conn) heardPong(p *pingState, now int64) {
	if c.flags&cfGoingAway != 0 {
		return // the timer waits for the Close handshake now
	}
	if at := now + int64(c.rt.ws.Ping.Interval); at < p.armed {
		p.armed = at
		c.schedule(time.Duration(at - now))
	}
}

// sendPing writes a Ping toward peer between whole frames.
func (c *conn) sendPing(peer direction) bool {
	d := peer.opposite() // the direction that travels toward peer
	if c.scan[d].Remaining() != 0 || c.dir[d].flags&(dsClosePending|dsCloseSent) != 0 {
		return false
	}
	h := ws.Header{Fin: true, OpCode: ws.OpPing, Length: int64(len(pingPayload))}
	var body [8]byte
	copy(body[:], pingPayload)
	if d == toUpstream {
		h.Masked = true
		h.Mask = [4]byte{'w', 's', 'p', 'x'}
		ws.Cipher(body[:], h.Mask, 0)
	}
	out := codec.AppendFrameHeader(c.cl.l.hbuf[:0], h)
	out = append(out, body[:]...)
	c.cl.l.hbuf = out[:0]
	if c.dst(d).write(out) != nil {
		return false
	}
	c.updateInterest()
	return true
}

// deadPeer closes a tunnel whose peer did not answer a Ping: the other side
// is told 1001, the silent one just loses the connection.
func (c *conn) deadPeer(peer direction) {
	if c.cl.l.srv != nil {
		c.cl.l.srv.logf("client %s: peer %d did not answer ping; closing tunnel", c.peer(), peer)
	}
	c.noteRule(closerule.Ping, peer)
	live := peer // the direction toward the live side is the dead peer's own direction
	if c.scan[live].Remaining() == 0 && c.dir[live].flags&dsCloseSent == 0 {
		c.writeClose(live, ws.StatusGoingAway)
	}
	c.close()
}

// halfCloseTimeout bounds a tunnel after one side has ended its stream
// (HAProxy's timeout client-fin / server-fin): the other side may still
// send, but a peer that never closes does not hold the tunnel for the whole
// idle timeout.
const halfCloseTimeout = 30 * time.Second

// halfClosed shortens the tunnel's remaining idle time to halfCloseTimeout;
// data frames from the side still sending extend it as usual.
func (c *conn) halfClosed() {
	if c.st != stTunnel {
		return
	}
	if at := c.cl.l.Now.UnixNano() - int64(c.idleTimeout()) + int64(halfCloseTimeout); at < c.active {
		c.active = at
	}
	c.onTunnelTimer()
}

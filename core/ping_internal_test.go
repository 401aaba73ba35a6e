package core

import (
	"fmt"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"wsproxy/internal/wspolicy"
)

// TestOurPongAfterTimerTick: a peer answers the proxy's Ping with a
// heartbeat Pong of its own first and the answer after, and the tunnel's
// timer runs between the two (it also runs the other peer's pings). The
// heartbeat shows the peer alive, but the Ping is still unanswered: the
// answer that follows is swallowed, not forwarded to the other side. (The
// timer used to take any frame heard as the answer and forget the Ping;
// TestPongNotOursIsForwarded caught it on a loaded machine.) A Pong of
// ours with no Ping outstanding, a late second answer, is forwarded.
func TestOurPongAfterTimerTick(t *testing.T) {
	heartbeat := frame{op: ws.OpPong, fin: true, payload: "12345678"}
	ours := frame{op: ws.OpPong, fin: true, payload: string(pingPayload)}
	text := frame{op: ws.OpText, fin: true, payload: "after the pongs"}
	pol := &wspolicy.Policy{Ping: &wspolicy.Ping{Interval: time.Hour, Timeout: time.Hour, Peers: [2]bool{true, true}}}
	for _, d := range []direction{toUpstream, toClient} { // d: the way the answering peer's frames travel
		r := newRelayRig(t, pol, 0)
		now := r.c.cl.l.Now.UnixNano()
		r.c.active = now
		r.c.ping = &pingState{lastHeard: [2]int64{now - 2, now - 2}}
		r.c.ping.sent[d] = now - 1 // our Ping toward that peer, unanswered
		r.feed(t, d, wire(d, heartbeat))
		r.c.onTunnelTimer()
		if r.c.ping.sent[d] == 0 {
			t.Fatalf("%s: the timer took the heartbeat for the answer", peerNames[d])
		}
		r.feed(t, d, wire(d, ours, text))
		if r.c.ping.sent[d] != 0 {
			t.Errorf("%s: the answer did not clear the outstanding Ping", peerNames[d])
		}
		r.feed(t, d, wire(d, ours))
		want := []frame{heartbeat, text, ours}
		if got := r.received(t, peerIndex(d)); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the other side got\n%v\nwant\n%v", peerNames[d], got, want)
		}
	}
}

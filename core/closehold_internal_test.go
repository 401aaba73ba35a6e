package core

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/closerule"
	"wsproxy/internal/wspolicy"
)

// Close frames split across reads (closehold.go), in memory: each case is
// fed whole, in two reads split at every byte, and in three reads split at
// every pair of bytes around its Close frame. Whatever the split, the
// receiver gets exactly the frames it gets when the stream comes in one
// read (never an invalid Close, nor the first bytes of one), the sender
// exactly the proxy's Close, and the tunnel holds no buffer afterwards.

// closeHoldCase is one input stream in one direction.
type closeHoldCase struct {
	name    string
	d       direction
	noCheck bool
	in      []frame
	raw     []byte         // a frame that frame cannot build, appended after in
	forward int            // input frames that reach the receiver
	code    ws.StatusCode  // the proxy's Close to the sender; 0: none
	rule    closerule.Rule // the rule noted
}

func closeHoldCases() []closeHoldCase {
	long := strings.Repeat("r", 123) // a 125-byte payload with the code
	frag := frame{op: ws.OpText, payload: "frag"}
	cont := frame{op: ws.OpContinuation, fin: true, payload: "ment"}
	var cs []closeHoldCase
	for _, d := range []direction{toUpstream, toClient} {
		cs = append(cs,
			closeHoldCase{name: "1000 bye", d: d, in: []frame{text("a"), closeFrame(1000, "bye")}, forward: 2},
			closeHoldCase{name: "4000 UTF-8 reason", d: d, in: []frame{closeFrame(4000, "héllo ✓ \U0001F600")}, forward: 1},
			closeHoldCase{name: "code only", d: d, in: []frame{closeFrame(1001, "")}, forward: 1},
			closeHoldCase{name: "no payload", d: d, in: []frame{{op: ws.OpClose, fin: true}}, forward: 1},
			closeHoldCase{name: "125-byte payload", d: d, in: []frame{closeFrame(3000, long)}, forward: 1},
			closeHoldCase{name: "inside a fragmented message", d: d, in: []frame{frag, closeFrame(1000, "x"), cont}, forward: 3},
			closeHoldCase{name: "ping then Close in a fragmented message", d: d, in: []frame{frag, {op: ws.OpPing, fin: true, payload: "pp"}, closeFrame(1000, "ok")}, forward: 3},
			closeHoldCase{name: "check_frames off: bad reason passes", d: d, noCheck: true, in: []frame{closeFrame(1000, "a\xff")}, forward: 1},
			closeHoldCase{name: "check_frames off: 1005 passes", d: d, noCheck: true, in: []frame{text("t"), closeFrame(1005, "")}, forward: 2},
			closeHoldCase{name: "reason not UTF-8", d: d, in: []frame{text("a"), closeFrame(1000, "ok\xff")}, forward: 1, code: ws.StatusInvalidFramePayloadData, rule: closerule.CloseReason},
			closeHoldCase{name: "reason not UTF-8 late", d: d, in: []frame{closeFrame(1000, long[:100]+"\xc0\xaf")}, code: ws.StatusInvalidFramePayloadData, rule: closerule.CloseReason},
			closeHoldCase{name: "reason cut in a rune", d: d, in: []frame{closeFrame(1001, "\xe2\x9c")}, code: ws.StatusInvalidFramePayloadData, rule: closerule.CloseReason},
			closeHoldCase{name: "surrogate in reason", d: d, in: []frame{closeFrame(1000, "\xed\xa0\x80")}, code: ws.StatusInvalidFramePayloadData, rule: closerule.CloseReason},
			closeHoldCase{name: "1005", d: d, in: []frame{closeFrame(1005, "")}, code: ws.StatusProtocolError, rule: closerule.CloseCode},
			closeHoldCase{name: "1004 with reason", d: d, in: []frame{closeFrame(1004, "reserved")}, code: ws.StatusProtocolError, rule: closerule.CloseCode},
			closeHoldCase{name: "999", d: d, in: []frame{text("b"), closeFrame(999, "x")}, forward: 1, code: ws.StatusProtocolError, rule: closerule.CloseCode},
			closeHoldCase{name: "5000", d: d, in: []frame{closeFrame(5000, "")}, code: ws.StatusProtocolError, rule: closerule.CloseCode},
			closeHoldCase{name: "bad Close in a fragmented message", d: d, in: []frame{frag, closeFrame(1000, "\xff")}, forward: 1, code: ws.StatusInvalidFramePayloadData, rule: closerule.CloseReason},
			closeHoldCase{name: "1-byte payload", d: d, in: []frame{text("c")}, raw: wire(d, frame{op: ws.OpClose, fin: true, payload: "\x03"}), forward: 1, code: ws.StatusProtocolError, rule: closerule.CloseLength},
			closeHoldCase{name: "payload over 125", d: d, in: []frame{closeFrame(1000, long+"é")}, code: ws.StatusProtocolError, rule: closerule.ControlTooLong},
		)
	}
	return cs
}

// run feeds in as the reads pieces, and checks what each peer got.
func (tt closeHoldCase) run(t *testing.T, in []byte, cuts ...int) {
	t.Helper()
	pol := wspolicy.Policy{Check: !tt.noCheck}
	r := newRelayRig(t, &pol, 0)
	var pieces [][]byte
	prev := 0
	for _, c := range cuts {
		pieces = append(pieces, in[prev:c])
		prev = c
	}
	r.feed(t, tt.d, append(pieces, in[prev:])...)
	if r.c.st == stTunnel && r.c.in != nil {
		t.Fatalf("cuts %v: the tunnel holds a buffer of %d bytes after the stream", cuts, len(r.c.in.B))
	}
	want := append([]frame(nil), tt.in[:tt.forward]...)
	var wantBack []frame
	if tt.code != 0 {
		want = append(want, closeFrame(ws.StatusGoingAway, "going away"))
		wantBack = []frame{closeFrame(tt.code, tt.rule.Text())}
	}
	if got := r.received(t, peerIndex(tt.d)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cuts %v: the receiver got\n%v\nwant\n%v", cuts, got, want)
	}
	if back := r.received(t, peerIndex(tt.d.opposite())); fmt.Sprint(back) != fmt.Sprint(wantBack) {
		t.Fatalf("cuts %v: the sender got %v; want %v", cuts, back, wantBack)
	}
	if r.c.obs.rule != tt.rule {
		t.Fatalf("cuts %v: rule %v; want %v", cuts, r.c.obs.rule.Label(), tt.rule.Label())
	}
}

func TestCloseSplitAtEveryByte(t *testing.T) {
	for _, tt := range closeHoldCases() {
		t.Run(fmt.Sprintf("%s/%s", peerNames[tt.d], tt.name), func(t *testing.T) {
			in := append(wire(tt.d, tt.in...), tt.raw...)
			for split := 0; split <= len(in); split++ {
				tt.run(t, in, split)
			}
		})
	}
}

// TestCloseSplitThreeReads cuts the stream twice, the first cut anywhere
// from the frame before the last one on, the second up to 8 bytes behind
// it or before the last byte: a header split and a payload split in one
// stream, and a payload that trickles in.
func TestCloseSplitThreeReads(t *testing.T) {
	for _, tt := range closeHoldCases() {
		if tt.noCheck {
			continue
		}
		t.Run(fmt.Sprintf("%s/%s", peerNames[tt.d], tt.name), func(t *testing.T) {
			in := append(wire(tt.d, tt.in...), tt.raw...)
			from := 0
			if n := len(tt.in); n > 1 && tt.raw == nil {
				from = len(wire(tt.d, tt.in[:n-2]...))
			}
			for a := from; a <= len(in); a++ {
				t.Run(fmt.Sprint(a), func(t *testing.T) { // a rig's descriptors go at the end of its subtest
					for b := a; b <= min(a+8, len(in)); b++ {
						tt.run(t, in, a, b)
					}
					if a < len(in)-1 {
						tt.run(t, in, a, len(in)-1)
					}
				})
			}
		})
	}
}

// TestCloseHeldThenProxyCloses: the proxy closes the tunnel (drain) while
// a Close is held in a direction: nothing of the held Close went out, so
// the receiver stands at a frame boundary and gets the proxy's 1001 at
// once; the rest of the held Close is dropped when it comes, and the
// buffer goes back at once.
func TestCloseHeldThenProxyCloses(t *testing.T) {
	for _, d := range []direction{toUpstream, toClient} {
		in := wire(d, text("a"), closeFrame(1000, "bye"))
		hdr := 2 + 4*(1-int(d)) // the Close's header: masked from the client
		for split := len(wire(d, text("a"))) + hdr; split < len(in); split++ {
			r := newRelayRig(t, &wspolicy.Policy{Check: true}, 0)
			r.feed(t, d, in[:split])
			if r.c.dir[d].flags&dsCloseHeld == 0 || r.c.in == nil {
				t.Fatalf("%s, split at %d: the Close is not held", peerNames[d], split)
			}
			r.c.goingAway(closerule.Drain)
			if r.c.in != nil {
				t.Fatalf("%s, split at %d: the buffer is still held after the proxy's Close", peerNames[d], split)
			}
			r.feed(t, d, in[split:])
			want := []frame{text("a"), closeFrame(ws.StatusGoingAway, "going away")}
			if got := r.received(t, peerIndex(d)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s, split at %d: the receiver got\n%v\nwant\n%v", peerNames[d], split, got, want)
			}
		}
	}
}

// TestCloseHeldThenEOF: a stream that ends inside a held Close forwards
// nothing of it, and the buffer goes back.
func TestCloseHeldThenEOF(t *testing.T) {
	for _, d := range []direction{toUpstream, toClient} {
		in := wire(d, closeFrame(1000, "bye"))
		r := newRelayRig(t, &wspolicy.Policy{Check: true}, 0)
		r.feed(t, d, in[:len(in)-1])
		r.c.tunnelEOF(d)
		if r.c.in != nil || r.c.dir[d].flags&dsCloseHeld != 0 {
			t.Fatalf("%s: a Close cut by EOF is still held", peerNames[d])
		}
		if got := r.received(t, peerIndex(d)); len(got) != 0 {
			t.Fatalf("%s: the receiver got %v; want nothing", peerNames[d], got)
		}
	}
}

// TestCloseHeldBothWays: both directions hold a Close at once in the one
// buffer; each goes out whole, and the buffer goes back after the second.
func TestCloseHeldBothWays(t *testing.T) {
	up, down := wire(toUpstream, closeFrame(1000, "client")), wire(toClient, closeFrame(1001, "server"))
	r := newRelayRig(t, &wspolicy.Policy{Check: true}, 0)
	r.feed(t, toUpstream, up[:5])
	r.feed(t, toClient, down[:3])
	r.feed(t, toUpstream, up[5:])
	if r.c.in == nil {
		t.Fatal("the buffer went back while the upstream's Close is held")
	}
	r.feed(t, toClient, down[3:])
	if r.c.in != nil {
		t.Fatal("the buffer is held after both Close frames went out")
	}
	if got := r.received(t, 1); fmt.Sprint(got) != fmt.Sprint([]frame{closeFrame(1000, "client")}) {
		t.Errorf("the upstream got %v", got)
	}
	if got := r.received(t, 0); fmt.Sprint(got) != fmt.Sprint([]frame{closeFrame(1001, "server")}) {
		t.Errorf("the client got %v", got)
	}
}

// TestRelayAllocs: relaying data frames and Close frames, whole or split
// (held), allocates nothing once the pool has a buffer.
func TestRelayAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops buffers at random under the race detector")
	}
	r := newRelayRig(t, &wspolicy.Policy{Check: true}, 0)
	in := wire(toUpstream, text("hello"), closeFrame(1000, "bye"))
	drain := make([]byte, 1<<10)
	run := func() {
		r.c.scan[toUpstream].Reset()
		r.c.dir[toUpstream] = dirState{}
		r.feed(t, toUpstream, in[:3], in[3:12], in[12:16], in[16:], in)
		if r.c.in != nil {
			t.Fatal("a buffer is held after the stream")
		}
		unix.Read(r.peers[1], drain) // keep the socket from filling
	}
	run()
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Errorf("got %v allocs per relayed stream; want 0", a)
	}
}

// TestControlSplitInFragmentedMessage: Pings and Pongs split across reads
// between the fragments of a message. A Ping passes whole; a Pong
// answering the proxy's Ping is swallowed, payload and all, wherever the
// reads split its header, and the fragments around it reach the receiver
// intact. A read that ends inside its payload leaves the proxy unable to
// tell it from a peer's own Pong of the same length: it is forwarded then
// (an unsolicited Pong, which its receiver ignores), and the Ping stays
// outstanding. (Ping and Pong payloads have no rule to break: nothing is
// held.)
func TestControlSplitInFragmentedMessage(t *testing.T) {
	frag := frame{op: ws.OpBinary, payload: "frag"}
	cont := frame{op: ws.OpContinuation, fin: true, payload: "ment"}
	ping := frame{op: ws.OpPing, fin: true, payload: "are you there"}
	ours := frame{op: ws.OpPong, fin: true, payload: string(pingPayload)}
	pol := &wspolicy.Policy{Check: true, Ping: &wspolicy.Ping{Interval: time.Hour, Timeout: time.Hour}}
	for _, d := range []direction{toUpstream, toClient} {
		in := wire(d, frag, ping, ours, cont)
		payloadEnd := len(wire(d, frag, ping, ours))
		payloadStart := payloadEnd - len(pingPayload)
		for split := 0; split <= len(in); split++ {
			r := newRelayRig(t, pol, 0)
			r.c.ping = &pingState{sent: [2]int64{1, 1}}
			r.feed(t, d, in[:split], in[split:])
			want, answered := []frame{frag, ping, cont}, true
			if split >= payloadStart && split < payloadEnd {
				want, answered = []frame{frag, ping, ours, cont}, false
			}
			if got := r.received(t, peerIndex(d)); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%s, split at %d: the receiver got\n%v\nwant\n%v", peerNames[d], split, got, want)
			}
			if back := r.received(t, peerIndex(d.opposite())); len(back) != 0 {
				t.Fatalf("%s, split at %d: the sender got %v", peerNames[d], split, back)
			}
			if got := r.c.ping.sent[d] == 0; got != answered {
				t.Fatalf("%s, split at %d: Pong taken as the answer %v, want %v", peerNames[d], split, got, answered)
			}
		}
	}
}

// FuzzRelaySplit: whatever the stream, cutting it into reads changes
// nothing each peer decodes (split headers are re-encoded, so bytes may
// differ where a length was not minimally encoded), nor the rule noted.
// Seeded from the cases above, cut in their Close frames.
func FuzzRelaySplit(f *testing.F) {
	for _, tt := range closeHoldCases() {
		in := append(wire(tt.d, tt.in...), tt.raw...)
		f.Add(in, tt.d == toClient, !tt.noCheck, uint16(len(in)-3), uint16(len(in)-1))
	}
	f.Fuzz(func(t *testing.T, in []byte, fromUpstream, check bool, a, b uint16) {
		d := toUpstream
		if fromUpstream {
			d = toClient
		}
		pol := &wspolicy.Policy{Check: check}
		cut := func(pieces ...[]byte) (got [2]string, rule closerule.Rule) {
			r := newRelayRig(t, pol, 0)
			r.feed(t, d, pieces...)
			for i := range got {
				got[i] = decodeAll(r, i)
			}
			if held := (r.c.dir[0].flags|r.c.dir[1].flags)&dsCloseHeld != 0; r.c.st == stTunnel && (r.c.in != nil) != held {
				t.Fatalf("a buffer is held: %v; a Close is held: %v", r.c.in != nil, held)
			}
			return got, r.c.obs.rule
		}
		i, j := min(int(a), len(in)), min(int(b), len(in))
		if i > j {
			i, j = j, i
		}
		want, wantRule := cut(in)
		got, rule := cut(in[:i], in[i:j], in[j:])
		if got != want || rule != wantRule {
			t.Fatalf("cut at %d, %d: the peers got\n%q, rule %v\nwant (one read)\n%q, rule %v", i, j, got, rule.Label(), want, wantRule.Label())
		}
	})
}

// decodeAll decodes what reached peer i: its frames, unmasked, then the
// length of what does not make a whole frame.
func decodeAll(r *relayRig, i int) string {
	var raw []byte
	b := make([]byte, 64<<10)
	for {
		n, err := unix.Read(r.peers[i], b)
		if n <= 0 || err != nil {
			break
		}
		raw = append(raw, b[:n]...)
	}
	var out strings.Builder
	for len(raw) > 0 {
		var sc codec.FrameScanner
		n, h, ok, err := sc.Scan(raw)
		if !ok || err != nil || int64(len(raw)-n) < h.Length {
			break
		}
		p := append([]byte(nil), raw[n:n+int(h.Length)]...)
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		fmt.Fprintf(&out, "%v fin=%v rsv=%d masked=%v %q\n", h.OpCode, h.Fin, h.Rsv, h.Masked, p)
		raw = raw[n+int(h.Length):]
	}
	fmt.Fprintf(&out, "+%d bytes", len(raw))
	return out.String()
}

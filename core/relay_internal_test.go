package core

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
	"wsproxy/internal/testutil"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"wsproxy/balance"
	"wsproxy/codec"
	"wsproxy/config"
	"wsproxy/internal/closerule"
	"wsproxy/internal/wspolicy"
)

// The relay's frame policy, in memory: a conn in stTunnel whose endpoints
// are socket pairs, fed with a byte stream in one direction, whole or split
// in two at every byte. Whatever the split, the receiver must get the same
// frames and each side the same Close from the proxy.

// relayRig is a tunnel without a proxy around it.
type relayRig struct {
	c     *conn
	peers [2]int // the client's and the upstream's ends of the socket pairs
}

func newRelayRig(t *testing.T, pol *wspolicy.Policy, flags connFlags) *relayRig {
	t.Helper()
	srv := &Server{log: slog.New(slog.DiscardHandler)}
	srv.cur.Store(&settings{limits: config.Limits{MaxPendingBytes: 64 << 10}, timeouts: timeouts{Idle: time.Hour}})
	l, err := newLoop(srv, 0, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &conn{cl: endpoint{l: l}, st: stTunnel, rt: &route{ws: pol}, flags: flags}
	c.tm.Owner = c
	r := &relayRig{c: c}
	var fds [2][2]int
	for i := range fds {
		if fds[i], err = testutil.StreamPair(true); err != nil {
			t.Fatal(err)
		}
		r.peers[i] = fds[i][1]
		peer := fds[i][1]
		t.Cleanup(func() { unix.Close(peer) })
	}
	c.cl = endpoint{c: c, l: l}
	c.cl.SetFD(fds[0][0])
	pool, err := balance.NewPool("u", []balance.ServerConfig{{Addr: "127.0.0.1:1"}}, balance.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b := pool.Servers()[0]
	b.Acquire()
	c.up = &endpoint{c: c, l: l, flags: epIsUpstream, srv: &server{b: b}}
	c.up.SetFD(fds[1][0])
	t.Cleanup(func() { c.close() })
	return r
}

// feed relays pieces in direction d, as successive reads.
func (r *relayRig) feed(t *testing.T, d direction, pieces ...[]byte) {
	t.Helper()
	for _, p := range pieces {
		if r.c.st != stTunnel {
			return
		}
		dst := r.c.dst(d)
		if err := r.c.relay(dst, p, d); err != nil {
			t.Fatalf("relay: %v", err)
		}
	}
}

// frame is one frame as a peer decodes it.
type frame struct {
	op      ws.OpCode
	fin     bool
	rsv     byte
	payload string
}

func (f frame) String() string {
	if f.op == ws.OpClose && len(f.payload) >= 2 {
		code, reason := ws.ParseCloseFrameData([]byte(f.payload))
		return fmt.Sprintf("Close(%d %q)", code, reason)
	}
	return fmt.Sprintf("%v(fin=%v rsv=%d %q)", f.op, f.fin, f.rsv, f.payload)
}

// received decodes what reached peer i (0 client, 1 upstream). The
// loop's send batch goes out first, as it does when a loop cycle ends.
func (r *relayRig) received(t *testing.T, i int) []frame {
	t.Helper()
	r.c.cl.l.Sends.Flush()
	var buf bytes.Buffer
	b := make([]byte, 64<<10)
	for {
		n, err := unix.Read(r.peers[i], b)
		if n <= 0 || err != nil {
			break
		}
		buf.Write(b[:n])
	}
	var out []frame
	for buf.Len() > 0 {
		h, err := ws.ReadHeader(&buf)
		if err != nil {
			t.Fatalf("peer %d: bad frame header: %v (%q)", i, err, buf.Bytes())
		}
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(&buf, p); err != nil {
			t.Fatalf("peer %d: frame cut short: %v", i, err)
		}
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		out = append(out, frame{h.OpCode, h.Fin, h.Rsv, string(p)})
	}
	return out
}

// wire encodes frames as a peer sends them (masked from the client).
func wire(d direction, fs ...frame) []byte {
	var out []byte
	for i, f := range fs {
		h := ws.Header{Fin: f.fin, OpCode: f.op, Rsv: f.rsv, Length: int64(len(f.payload))}
		p := []byte(f.payload)
		if d == 0 {
			h.Masked, h.Mask = true, [4]byte{1, 2, byte(i), 4}
			ws.Cipher(p, h.Mask, 0)
		}
		out = append(codec.AppendFrameHeader(out, h), p...)
	}
	return out
}

func closeFrame(code ws.StatusCode, reason string) frame {
	return frame{op: ws.OpClose, fin: true, payload: string(codec.AppendClosePayload(nil, code, "")) + reason}
}

func text(s string) frame { return frame{op: ws.OpText, fin: true, payload: s} }

func TestRelayPolicySplitAtEveryByte(t *testing.T) {
	rsv1 := ws.Rsv(true, false, false)
	deflated := frame{op: ws.OpText, fin: true, rsv: rsv1, payload: "\xf2\x48\xcd\xc9\xc9\x07\x00"}
	tests := []struct {
		name    string
		d       direction // direction of the input
		flags   connFlags
		pol     wspolicy.Policy // check is set unless noCheck
		noCheck bool
		in      []frame
		raw     []byte // appended to the encoded frames
		forward int    // how many input frames reach the receiver
		code    ws.StatusCode
		rule    closerule.Rule
	}{
		{name: "text", in: []frame{text("hello"), text("")}, forward: 2},
		{name: "binary 70 KiB", in: []frame{{op: ws.OpBinary, fin: true, payload: string(make([]byte, 70<<10))}}, forward: 1},
		{name: "RSV1 without extension", in: []frame{text("a"), deflated}, forward: 1, code: ws.StatusProtocolError, rule: closerule.Rsv},
		{name: "RSV1 with deflate", flags: cfExtDeflate, in: []frame{deflated, text("plain")}, forward: 2},
		{name: "deflate fragmented", flags: cfExtDeflate, in: []frame{{op: ws.OpBinary, rsv: rsv1, payload: "ab"}, {op: ws.OpPing, fin: true, payload: "p"}, {op: ws.OpContinuation, fin: true, payload: "cd"}}, forward: 3},
		{name: "deflate RSV1 continuation", flags: cfExtDeflate, in: []frame{{op: ws.OpText, rsv: rsv1, payload: "ab"}, {op: ws.OpContinuation, fin: true, rsv: rsv1, payload: "cd"}}, forward: 1, code: ws.StatusProtocolError, rule: closerule.RsvPlacement},
		{name: "deflate RSV1 ping", flags: cfExtDeflate, in: []frame{{op: ws.OpPing, fin: true, rsv: rsv1}}, code: ws.StatusProtocolError, rule: closerule.RsvPlacement},
		{name: "deflate RSV2", flags: cfExtDeflate, in: []frame{{op: ws.OpText, fin: true, rsv: ws.Rsv(false, true, false)}}, code: ws.StatusProtocolError, rule: closerule.Rsv},
		{name: "unknown extension RSV3 continuation", flags: cfExtUnknown, in: []frame{{op: ws.OpText, payload: "a"}, {op: ws.OpContinuation, fin: true, rsv: 1, payload: "b"}}, forward: 2},
		{name: "check_frames off", noCheck: true, in: []frame{deflated, closeFrame(1005, "")}, forward: 2},
		{name: "reserved opcode", in: []frame{{op: 0x3, fin: true}}, code: ws.StatusProtocolError, rule: closerule.ReservedOpcode},
		{name: "unmasked client frame", raw: wire(1, text("x")), code: ws.StatusProtocolError, rule: closerule.Unmasked},
		{name: "masked server frame", d: 1, raw: wire(0, text("x")), code: ws.StatusProtocolError, rule: closerule.Masked},
		{name: "server text", d: 1, in: []frame{text("from the server"), closeFrame(1000, "bye")}, forward: 2},
		{name: "continuation unexpected", in: []frame{{op: ws.OpContinuation, fin: true, payload: "x"}}, code: ws.StatusProtocolError, rule: closerule.ContinuationUnexpected},
		{name: "max_message", pol: wspolicy.Policy{MaxMessage: 4}, in: []frame{{op: ws.OpText, payload: "abc"}, {op: ws.OpContinuation, fin: true, payload: "de"}}, forward: 1, code: ws.StatusMessageTooBig, rule: closerule.MaxMessage},
		{name: "max_frame", d: 1, pol: wspolicy.Policy{MaxFrame: 2}, in: []frame{text("ab"), text("abc")}, forward: 1, code: ws.StatusMessageTooBig, rule: closerule.MaxFrame},
		{name: "Close 1000 with reason", in: []frame{closeFrame(1000, "bye")}, forward: 1},
		{name: "Close 4000 UTF-8 reason", in: []frame{closeFrame(4000, "héllo ✓")}, forward: 1},
		{name: "Close without code", in: []frame{{op: ws.OpClose, fin: true}}, forward: 1},
		{name: "Close 1005", in: []frame{closeFrame(1005, "")}, code: ws.StatusProtocolError, rule: closerule.CloseCode},
		{name: "Close 1006", d: 1, in: []frame{closeFrame(1006, "x")}, code: ws.StatusProtocolError, rule: closerule.CloseCode},
		{name: "Close 1015", in: []frame{closeFrame(1015, "")}, code: ws.StatusProtocolError, rule: closerule.CloseCode},
		{name: "Close 999", in: []frame{closeFrame(999, "")}, code: ws.StatusProtocolError, rule: closerule.CloseCode},
		{name: "Close reason not UTF-8", in: []frame{text("a"), closeFrame(1000, "ok\xff")}, forward: 1, code: ws.StatusInvalidFramePayloadData, rule: closerule.CloseReason},
		{name: "Close reason cut in a rune", d: 1, in: []frame{closeFrame(1001, "\xe2\x9c")}, code: ws.StatusInvalidFramePayloadData, rule: closerule.CloseReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pol := tt.pol
			pol.Check = !tt.noCheck
			in := append(wire(tt.d, tt.in...), tt.raw...)
			sender, receiver := 1-tt.d, tt.d // peers: 0 client, 1 upstream
			for split := 0; split <= len(in); split++ {
				if len(in) > 300 && split > 20 && split < len(in)-20 {
					continue // long payloads: the edges are what matters
				}
				r := newRelayRig(t, &pol, tt.flags)
				r.feed(t, tt.d, in[:split], in[split:])
				got := r.received(t, peerIndex(receiver))
				want := tt.in[:tt.forward]
				if tt.code != 0 {
					want = append(append([]frame(nil), want...), closeFrame(ws.StatusGoingAway, "going away"))
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("split at %d: the receiver got\n%v\nwant\n%v", split, got, want)
				}
				back := r.received(t, peerIndex(sender))
				var wantBack []frame
				if tt.code != 0 {
					wantBack = []frame{closeFrame(tt.code, tt.rule.Text())}
				}
				if fmt.Sprint(back) != fmt.Sprint(wantBack) {
					t.Fatalf("split at %d: the sender got %v; want %v", split, back, wantBack)
				}
				if r.c.obs.rule != tt.rule {
					t.Fatalf("split at %d: rule %v; want %v", split, r.c.obs.rule.Label(), tt.rule.Label())
				}
			}
		})
	}
}

// peerIndex maps a direction to the peer its frames travel to: direction 0
// (client → upstream) reaches peer 1.
func peerIndex(d direction) int { return int(d.opposite()) }

// TestRelayCloseCodeAnySplit checks that the Close code counted is the one
// sent, wherever the reads split the frame.
func TestRelayCloseCodeAnySplit(t *testing.T) {
	in := wire(0, text("x"), closeFrame(4001, "done"))
	for split := 0; split <= len(in); split++ {
		for split2 := split; split2 <= len(in); split2++ {
			r := newRelayRig(t, &wspolicy.Policy{Check: true}, 0)
			r.feed(t, 0, in[:split], in[split:split2], in[split2:])
			if got := r.c.obs.code[0]; got != 4001 {
				t.Fatalf("split at %d, %d: code %d; want 4001", split, split2, got)
			}
		}
	}
}

// TestRelayGoingAwayAtBoundary closes a tunnel while a frame passes: the
// receiver gets the proxy's Close only behind the whole frame, and never
// the first bytes of a header the scanner still holds.
func TestRelayGoingAwayAtBoundary(t *testing.T) {
	in := wire(0, text("first"), text("second frame"))
	first := len(wire(0, text("first")))
	for split := 0; split <= len(in); split++ {
		r := newRelayRig(t, &wspolicy.Policy{Check: true}, 0)
		r.feed(t, 0, in[:split])
		r.c.goingAway(closerule.Drain)
		r.feed(t, 0, in[split:])
		var want []frame
		switch {
		case split >= first+2+4: // the second header is whole: its frame completes first
			want = []frame{text("first"), text("second frame")}
		case split >= first:
			want = []frame{text("first")}
		case split >= 2+4: // the first header is whole: its frame completes first
			want = []frame{text("first")}
		}
		if split == len(in) {
			want = []frame{text("first"), text("second frame")}
		}
		want = append(want, closeFrame(ws.StatusGoingAway, "going away"))
		if got := r.received(t, 1); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("split at %d: the upstream got\n%v\nwant\n%v", split, got, want)
		}
		if r.c.obs.rule != closerule.Drain {
			t.Fatalf("split at %d: rule %v; want drain", split, r.c.obs.rule.Label())
		}
	}
}

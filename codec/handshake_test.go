package codec

import (
	"testing"
)

// offerFor parses a client handshake with the given extra fields and
// returns what it offered.
func offerFor(t *testing.T, fields string) Offer {
	t.Helper()
	var r Request
	in := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + fields + "\r\n"
	if _, err := ParseRequest([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	_, o := AppendOffer(nil, &r)
	return o
}

func TestAppendOffer(t *testing.T) {
	o := offerFor(t, "Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"+
		"Sec-WebSocket-Protocol: v2\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame\r\n")
	for _, c := range []struct{ name, got, want string }{
		{"Key", string(o.Key), "dGhlIHNhbXBsZSBub25jZQ=="},
		{"Protocols", string(o.Protocols), "chat, superchat,v2"},
		{"Extensions", string(o.Extensions), "permessage-deflate; client_max_window_bits,x-webkit-deflate-frame"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q; want %q", c.name, c.got, c.want)
		}
	}
	dst := []byte("prefix")
	dst, o = AppendOffer(dst, &Request{WSKey: []byte("k")})
	if string(dst) != "prefixk" || string(o.Key) != "k" || len(o.Protocols) != 0 || len(o.Extensions) != 0 {
		t.Errorf("AppendOffer to a used buffer = %q, %+v", dst, o)
	}
}

func TestValidateUpgradeResponse(t *testing.T) {
	const ok = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
	const deflate = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15, x-foo\r\n"
	tests := []struct {
		name   string
		offer  string // the client's extra handshake fields
		in     string
		want   error
		wantEx Extensions
	}{
		{name: "RFC 6455 example", in: upgradeResponse},
		{name: "our own", in: string(AppendUpgradeResponse(nil, []byte("dGhlIHNhbXBsZSBub25jZQ==")))},
		{name: "200", in: "HTTP/1.1 200 OK\r\n\r\n", want: ErrHandshakeStatus},
		{name: "no Upgrade", in: "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\r\n", want: ErrHandshakeUpgrade},
		{name: "Upgrade not websocket", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", want: ErrHandshakeUpgrade},
		{name: "wrong accept", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", want: ErrBadWSAccept},
		{name: "no accept", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", want: ErrBadWSAccept},
		{name: "subprotocol offered", offer: "Sec-WebSocket-Protocol: chat, superchat\r\n", in: ok + "Sec-WebSocket-Protocol: superchat\r\n\r\n"},
		{name: "subprotocol not offered", offer: "Sec-WebSocket-Protocol: chat\r\n", in: ok + "Sec-WebSocket-Protocol: superchat\r\n\r\n", want: ErrUnofferedProtocol},
		{name: "subprotocol without offer", in: ok + "Sec-WebSocket-Protocol: chat\r\n\r\n", want: ErrUnofferedProtocol},
		{name: "subprotocol case differs", offer: "Sec-WebSocket-Protocol: chat\r\n", in: ok + "Sec-WebSocket-Protocol: Chat\r\n\r\n", want: ErrUnofferedProtocol},
		{name: "two subprotocols in one field", offer: "Sec-WebSocket-Protocol: a, b\r\n", in: ok + "Sec-WebSocket-Protocol: a, b\r\n\r\n", want: ErrManyProtocols},
		{name: "two subprotocol fields", offer: "Sec-WebSocket-Protocol: a, b\r\n", in: ok + "Sec-WebSocket-Protocol: a\r\nSec-WebSocket-Protocol: b\r\n\r\n", want: ErrManyProtocols},
		{name: "none chosen of those offered", offer: "Sec-WebSocket-Protocol: a, b\r\n", in: ok + "\r\n"},
		{name: "deflate", offer: deflate, in: ok + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n", wantEx: ExtDeflate},
		{name: "deflate, name case", offer: deflate, in: ok + "Sec-WebSocket-Extensions: Permessage-Deflate\r\n\r\n", wantEx: ExtDeflate},
		{name: "deflate and unknown", offer: deflate, in: ok + "Sec-WebSocket-Extensions: permessage-deflate, x-foo; a=\"1,2\"\r\n\r\n", wantEx: ExtDeflate | ExtUnknown},
		{name: "unknown in a second field", offer: deflate, in: ok + "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Extensions: x-foo\r\n\r\n", wantEx: ExtDeflate | ExtUnknown},
		{name: "extension not offered", in: ok + "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", want: ErrUnofferedExtension},
		{name: "other extension not offered", offer: deflate, in: ok + "Sec-WebSocket-Extensions: x-bar\r\n\r\n", want: ErrUnofferedExtension},
		{name: "deflate twice", offer: deflate, in: ok + "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n\r\n", want: ErrBadExtensions},
		{name: "malformed extensions", offer: deflate, in: ok + "Sec-WebSocket-Extensions: permessage-deflate; a=\"1\r\n\r\n", want: ErrBadExtensions},
		{name: "extension name not a token", offer: deflate, in: ok + "Sec-WebSocket-Extensions: @x\r\n\r\n", want: ErrBadExtensions},
		{name: "empty extensions field", offer: deflate, in: ok + "Sec-WebSocket-Extensions: \r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Response
			if _, err := ParseResponse([]byte(tt.in), &r); err != nil {
				t.Fatal(err)
			}
			o := offerFor(t, tt.offer)
			ext, err := ValidateUpgradeResponse(&r, &o)
			if err != tt.want || ext != tt.wantEx {
				t.Errorf("ValidateUpgradeResponse() = %v, %v; want %v, %v", ext, err, tt.wantEx, tt.want)
			}
		})
	}
}

func TestValidateUpgradeResponseAllocs(t *testing.T) {
	var r Response
	in := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n\r\n")
	if _, err := ParseResponse(in, &r); err != nil {
		t.Fatal(err)
	}
	o := offerFor(t, "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")
	buf := make([]byte, 0, 256)
	var req Request
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: chat\r\n\r\n"), &req); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() {
		buf, _ = AppendOffer(buf[:0], &req)
		if _, err := ValidateUpgradeResponse(&r, &o); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("AppendOffer + ValidateUpgradeResponse allocate %v times; want 0", n)
	}
}

func FuzzValidateUpgradeResponse(f *testing.F) {
	f.Add("permessage-deflate; client_max_window_bits", "permessage-deflate, x; a=\"b,c\"", "chat", "chat")
	f.Add("a, b", "b; q=\"\\\"\"", "", "")
	f.Fuzz(func(t *testing.T, offerExt, respExt, offerProto, respProto string) {
		o := Offer{Key: []byte("dGhlIHNhbXBsZSBub25jZQ=="), Protocols: []byte(offerProto), Extensions: []byte(offerExt)}
		r := Response{Status: 101, Upgrade: true, WSAccept: []byte("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
			Headers: []Header{{Name: []byte("Sec-WebSocket-Extensions"), Value: []byte(respExt)}}}
		if respProto != "" {
			r.Headers = append(r.Headers, Header{Name: []byte("Sec-WebSocket-Protocol"), Value: []byte(respProto)})
		}
		ext, err := ValidateUpgradeResponse(&r, &o)
		if err == nil && ext&ExtDeflate != 0 && !offeredExtension(o.Extensions, []byte("permessage-deflate")) {
			t.Fatalf("deflate accepted without an offer: %q / %q", offerExt, respExt)
		}
	})
}

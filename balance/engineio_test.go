package balance_test

import (
	"bytes"
	"testing"

	"wsproxy/balance"
)

var handshakeTests = []struct {
	name string
	body string
	sid  string // "" when not ok
}{
	{name: "v4", body: `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`, sid: "lv_VI97HAXpY6yYWAAAC"},
	{name: "v4 with next packet", body: "0{\"sid\":\"abc-_123\",\"upgrades\":[]}\x1e40", sid: "abc-_123"},
	{name: "v3 length prefix", body: `97:0{"sid":"Lbo5JLzTotvW3g2LAAAA","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000}2:40`, sid: "Lbo5JLzTotvW3g2LAAAA"},
	{name: "bare JSON object", body: `{"sid":"x1"}`, sid: "x1"},
	{name: "sid after other members", body: `0{"upgrades":["websocket","x"],"pingInterval":25000,"ok":true,"n":null,"f":-1.5e3,"sid":"late"}`, sid: "late"},
	{name: "white space", body: "0{ \n\t\"sid\" :\r \"ws\" }", sid: "ws"},
	{name: "nested sid ignored", body: `0{"meta":{"sid":"inner","a":[{"sid":"x"}]},"sid":"outer"}`, sid: "outer"},
	{name: "braces and quotes in strings", body: `0{"note":"}{\"sid\":\"fake\"]","sid":"real"}`, sid: "real"},
	{name: "first sid wins", body: `0{"sid":"one","sid":"two"}`, sid: "one"},
	{name: "uuid sid", body: `0{"sid":"3f1c1a52-6a5e-4a43-9a43-0d8f2f0e7b11"}`, sid: "3f1c1a52-6a5e-4a43-9a43-0d8f2f0e7b11"},
	{name: "cut after sid", body: `0{"sid":"abc","upgr`, sid: "abc"},

	{name: "empty", body: ``},
	{name: "open packet without object", body: `0`},
	{name: "socket.io connect packet", body: `40{"sid":"socketio-id"}`},
	{name: "message packet", body: `4{"sid":"x"}`},
	{name: "v3 message first", body: `2:40`},
	{name: "v3 prefix without packet", body: `12:`},
	{name: "no sid", body: `0{"upgrades":[],"pingInterval":25000}`},
	{name: "empty object", body: `0{}`},
	{name: "empty sid", body: `0{"sid":""}`},
	{name: "numeric sid", body: `0{"sid":12345}`},
	{name: "null sid", body: `0{"sid":null}`},
	{name: "escaped sid", body: `0{"sid":"a\"b"}`},
	{name: "escaped key", body: `0{"\u0073id":"abc"}`},
	{name: "space in sid", body: `0{"sid":"a b"}`},
	{name: "non-ASCII sid", body: "0{\"sid\":\"caf\xc3\xa9\"}"},
	{name: "sid too long", body: `0{"sid":"` + string(bytes.Repeat([]byte("a"), 129)) + `"}`},
	{name: "unterminated sid", body: `0{"sid":"abc`},
	{name: "control byte in key", body: "0{\"s\x01id\":\"abc\"}"},
	{name: "truncated before sid", body: `0{"upgrades":["websocket"`},
	{name: "missing colon", body: `0{"sid" "abc"}`},
	{name: "missing comma", body: `0{"a":1 "sid":"abc"}`},
	{name: "array", body: `0["sid","abc"]`},
	{name: "HTML error page", body: `<html><body>502</body></html>`},
}

func TestParseEngineIOHandshake(t *testing.T) {
	for _, tt := range handshakeTests {
		t.Run(tt.name, func(t *testing.T) {
			sid, ok := balance.ParseEngineIOHandshake([]byte(tt.body))
			if ok != (tt.sid != "") || string(sid) != tt.sid {
				t.Errorf("ParseEngineIOHandshake(%q) = %q, %v; want %q, %v", tt.body, sid, ok, tt.sid, tt.sid != "")
			}
			if ok && cap(sid) != len(sid) {
				t.Errorf("cap(sid) = %d; want len %d, so appends cannot clobber the body", cap(sid), len(sid))
			}
		})
	}
}

func TestParseEngineIOHandshakeNoAlloc(t *testing.T) {
	body := []byte(handshakeTests[0].body)
	if n := testing.AllocsPerRun(100, func() { balance.ParseEngineIOHandshake(body) }); n != 0 {
		t.Errorf("allocates %v times; want 0", n)
	}
}

func FuzzParseEngineIOHandshake(f *testing.F) {
	for _, tt := range handshakeTests {
		f.Add([]byte(tt.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sid, ok := balance.ParseEngineIOHandshake(body)
		if !ok {
			if sid != nil {
				t.Fatalf("not ok but sid %q", sid)
			}
			return
		}
		if len(sid) == 0 || len(sid) > 128 || cap(sid) != len(sid) {
			t.Fatalf("sid %q: len %d cap %d", sid, len(sid), cap(sid))
		}
		for _, c := range sid {
			if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' {
				t.Fatalf("sid %q holds byte %#x", sid, c)
			}
		}
		if !bytes.Contains(body, sid) {
			t.Fatalf("sid %q is not in the body", sid)
		}
		// What was accepted round-trips through a canonical v4 packet.
		canon := append(append([]byte(`0{"sid":"`), sid...), `"}`...)
		if again, ok := balance.ParseEngineIOHandshake(canon); !ok || !bytes.Equal(again, sid) {
			t.Fatalf("canonical %q parses to %q, %v", canon, again, ok)
		}
	})
}

package core

import (
	"net/netip"
	"strings"
	"testing"

	"wsproxy/codec"
	"wsproxy/config"
)

// TestUpstreamHeadAllocs: parsing, normalising the path and writing the
// head sent upstream allocate nothing once the loop's scratch space has
// grown, with every new field in play: a path to normalise, the client
// behind a trusted peer (X-Forwarded-For), Forwarded from it, a dropped
// "_" name, framing written from the parse.
func TestUpstreamHeadAllocs(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
listen: [{addr: "127.0.0.1:0"}]
trusted_proxies: [10.0.0.0/8]
routes: [{path: /, upstream: "127.0.0.1:1"}]
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := newLoop(s, 0, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &conn{cl: endpoint{l: l}, rt: s.cur.Load().router.Values()[0]}
	c.setPeer(netip.MustParseAddrPort("10.1.2.3:5555"))
	buf := []byte("POST /a/../b//c%2e HTTP/1.1\r\nHost: t\r\nForwarded: for=192.0.2.1\r\n" +
		"X-Forwarded-For: 192.0.2.1\r\nContent-Length: 5\r\nX_U: 1\r\nConnection: x-a\r\nX-A: 1\r\n\r\n")
	var head []byte
	run := func() {
		if _, err := codec.ParseRequest(buf, &l.req); err != nil {
			t.Fatal(err)
		}
		if err := c.normalizePath(&l.req); err != nil {
			t.Fatal(err)
		}
		l.client = s.cur.Load().trusted.Client(c.peerAddr, l.req.Headers) // 192.0.2.1
		head = c.appendUpstreamHead(l.hbuf[:0], &l.req)
		l.hbuf = head[:0]
	}
	run()
	want := "POST /b/c. HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nX-Real-IP: 192.0.2.1\r\n" +
		"X-Forwarded-For: 192.0.2.1, 10.1.2.3\r\nX-Forwarded-Proto: http\r\n" +
		"Forwarded: for=192.0.2.1, for=10.1.2.3;proto=http\r\n\r\n"
	if string(head) != want {
		t.Errorf("head:\ngot  %q\nwant %q", head, want)
	}
	if strings.Contains(string(head), "X_U") || strings.Contains(string(head), "X-A") {
		t.Errorf("head %q keeps a field it should drop", head)
	}
	if a := testing.AllocsPerRun(100, run); a != 0 {
		t.Errorf("got %v allocs per request head; want 0", a)
	}
}

package core_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"wsproxy/codec"
	"wsproxy/config"
	"wsproxy/core"
	"wsproxy/internal/testutil"
)

// compressingBackend is a gorilla echo server that accepts
// permessage-deflate and compresses every message it sends.
func compressingBackend(t *testing.T) string {
	t.Helper()
	up := gorilla.Upgrader{EnableCompression: true}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetReadLimit(32 << 20)
		c.EnableWriteCompression(true)
		for {
			op, p, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(op, p); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// TestDeflateThroughProxy: a client and a backend that negotiate
// permessage-deflate (the default of every browser) exchange compressed
// messages through the proxy; before the proxy read the 101's extensions,
// the first compressed frame (RSV1 set) got Close 1002.
func TestDeflateThroughProxy(t *testing.T) {
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes: [{path: /, upstream: %q}]
`, compressingBackend(t)))
	url := "ws://" + addr + "/"
	t.Run("gorilla", func(t *testing.T) {
		c := dialGorilla(t, url, &gorilla.Dialer{HandshakeTimeout: 5 * time.Second, EnableCompression: true})
		c.EnableWriteCompression(true)
		c.SetReadLimit(32 << 20)
		for i, n := range []int{0, 1, 200, 70 << 10, 1 << 20} {
			for _, textMsg := range []bool{true, false} {
				want := payload(n, textMsg, uint64(i))
				op := gorilla.BinaryMessage
				if textMsg {
					op = gorilla.TextMessage
				}
				if err := c.WriteMessage(op, want); err != nil {
					t.Fatalf("write %d: %v", n, err)
				}
				gotOp, got, err := c.ReadMessage()
				if err != nil || gotOp != op || !bytes.Equal(got, want) {
					t.Fatalf("echo of %d bytes: op %d, %d bytes, %v", n, gotOp, len(got), err)
				}
			}
		}
	})
	t.Run("coder", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover})
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		c.SetReadLimit(32 << 20)
		for i, n := range []int{3, 300, 200 << 10} {
			want := payload(n, true, uint64(i))
			if err := c.Write(ctx, websocket.MessageText, want); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.Read(ctx)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("echo of %d bytes: %d bytes, %v", n, len(got), err)
			}
		}
		if err := c.Close(websocket.StatusCode(4000), "done"); err != nil {
			t.Errorf("close: %v", err)
		}
	})
}

// TestUpgradeResponseChecked: a 101 that does not accept the client's
// handshake is answered 502 with the reason, and the upstream is closed.
func TestUpgradeResponseChecked(t *testing.T) {
	tests := []struct {
		name   string
		offer  string // extra handshake fields of the client
		answer func(key string) string
		reason string // in the 502's body; "" means the 101 passes
	}{
		{name: "good", answer: accept("", true), reason: ""},
		{name: "wrong Accept", answer: func(string) string {
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n"
		}, reason: "bad Sec-WebSocket-Accept"},
		{name: "no Upgrade: websocket", answer: accept("", false), reason: "missing Connection: upgrade or Upgrade: websocket"},
		{name: "subprotocol not offered", offer: "Sec-WebSocket-Protocol: chat\r\n", answer: accept("Sec-WebSocket-Protocol: mqtt\r\n", true), reason: "subprotocol the client did not offer"},
		{name: "subprotocol offered", offer: "Sec-WebSocket-Protocol: chat, mqtt\r\n", answer: accept("Sec-WebSocket-Protocol: mqtt\r\n", true)},
		{name: "extension not offered", answer: accept("Sec-WebSocket-Extensions: permessage-deflate\r\n", true), reason: "extension the client did not offer"},
		{name: "extension offered", offer: "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n", answer: accept("Sec-WebSocket-Extensions: permessage-deflate\r\n", true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstreamDone := make(chan error, 1)
			backend := rawBackend(t, func(c net.Conn) {
				br := bufio.NewReader(c)
				head, err := readHeadErr(br)
				if err != nil {
					upstreamDone <- err
					return
				}
				key := ""
				for _, line := range strings.Split(head, "\r\n") {
					if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
						key = strings.TrimSpace(v)
					}
				}
				io.WriteString(c, tt.answer(key))
				_, err = br.ReadByte() // EOF once the proxy drops the connection
				upstreamDone <- err
			})
			logs := &testutil.Buffer{}
			addr := proxyLogging(t, backend, logs)
			c := dialRaw(t, addr)
			writeAll(t, c, strings.Replace(upgradeRequest("/", "x"), "\r\n\r\n", "\r\n"+tt.offer+"\r\n", 1))
			br := bufio.NewReader(c)
			resp, body := readResp(t, br, "GET")
			if tt.reason == "" {
				if resp.StatusCode != 101 {
					t.Fatalf("status %d (%q); want 101", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != 502 || !strings.Contains(string(body), tt.reason) {
				t.Fatalf("answer %d %q; want 502 naming %q", resp.StatusCode, body, tt.reason)
			}
			select {
			case err := <-upstreamDone:
				if err != io.EOF {
					t.Errorf("upstream: %v; want EOF (closed by the proxy)", err)
				}
			case <-time.After(testDeadline):
				t.Fatal("upstream connection left open")
			}
			if !logHas(t, logs, "request failed", tt.reason) {
				t.Errorf("no log line with the reason %q:\n%s", tt.reason, logs.String())
			}
		})
	}
}

// accept answers a handshake with a 101 carrying the right Accept, the
// extra fields and, if upgrade, Upgrade: websocket.
func accept(extra string, upgrade bool) func(key string) string {
	return func(key string) string {
		up := "Upgrade: websocket\r\n"
		if !upgrade {
			up = ""
		}
		return "HTTP/1.1 101 Switching Protocols\r\n" + up + "Connection: Upgrade\r\nSec-WebSocket-Accept: " +
			string(codec.AppendAcceptKey(nil, []byte(key))) + "\r\n" + extra + "\r\n"
	}
}

// proxyLogging starts a proxy with route "/" to backend whose JSON log
// lines, debug level included, go to logs.
func proxyLogging(t *testing.T, backend string, logs *testutil.Buffer) string {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes: [{path: /, upstream: %q}]
`, backend)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := core.New(cfg, core.Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.Addrs()[0].String()
}

// logHas reports whether a log line with message msg mentions want in any
// of its values.
func logHas(t *testing.T, logs *testutil.Buffer, msg, want string) bool {
	t.Helper()
	for _, l := range logs.JSONLines(t) {
		if l["msg"] != msg {
			continue
		}
		for _, v := range l {
			if s, ok := v.(string); ok && strings.Contains(s, want) {
				return true
			}
		}
	}
	return false
}

// TestProxyCloseReasons: a Close the proxy sends on its own names its rule
// to the peer that broke it, in the tunnel's log line (info) and in the
// reason label of the metrics.
func TestProxyCloseReasons(t *testing.T) {
	e := startEcho(t, "e1")
	logs := &testutil.Buffer{}
	srv, addr := startProxyOpts(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
log: {sample: 0}
routes: [{path: /, upstream: %q, websocket: {max_message: 10}}]
`, e.Addr()), core.Options{Logger: slog.New(slog.NewJSONHandler(logs, nil))})

	for _, tt := range []struct {
		name, rule, text string
		frame            func(r *rawWS)
		code             int
	}{
		{"RSV1", "rsv_without_extension", "RSV bits without a negotiated extension", func(r *rawWS) {
			r.send(wsHeader(true, 4, 1), []byte("x"))
		}, 1002},
		{"max_message", "max_message", "message over max_message", func(r *rawWS) {
			r.send(wsHeader(true, 0, 2), make([]byte, 11))
		}, 1009},
		{"Close 1005", "close_code", "Close code that must not be sent", func(r *rawWS) {
			r.send(wsHeader(true, 0, 8), []byte{0x03, 0xed})
		}, 1002},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := dialRawWS(t, addr, "/")
			tt.frame(r)
			h, p, err := r.next()
			for err == nil && h.OpCode != 8 {
				h, p, err = r.next()
			}
			if err != nil || len(p) < 2 {
				t.Fatalf("no Close from the proxy: %v", err)
			}
			if code := int(binary.BigEndian.Uint16(p)); code != tt.code || !strings.HasPrefix(string(p[2:]), tt.text) {
				t.Errorf("Close %d %q; want %d %q", code, p[2:], tt.code, tt.text)
			}
			testutil.WaitFor(t, "the rule counted", func() bool { return srv.Metrics().WebSocket.ProxyCloses[tt.rule] == 1 })
			testutil.WaitFor(t, "the rule logged", func() bool { return logHas(t, logs, "websocket closed", tt.text) })
		})
	}
}

// wsHeader is a masked client frame header.
func wsHeader(fin bool, rsv byte, op ws.OpCode) ws.Header {
	return ws.Header{Fin: fin, Rsv: rsv, OpCode: op, Masked: true, Mask: mask}
}

// TestHTTP2PriorKnowledge: a client that opens with the HTTP/2 preface
// gets SETTINGS and GOAWAY(HTTP_1_1_REQUIRED), logged at info.
func TestHTTP2PriorKnowledge(t *testing.T) {
	logs := &testutil.Buffer{}
	addr := proxyLogging(t, startEcho(t, "e1").Addr().String(), logs)
	c := dialRaw(t, addr)
	// SETTINGS frame of the client's preface, empty.
	writeAll(t, c, codec.H2Preface+"\x00\x00\x00\x04\x00\x00\x00\x00\x00")
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	want := codec.AppendH2GoAway(nil, codec.H2HTTP11Required, "")
	if len(got) < len(want) || !bytes.Equal(got[:9], want[:9]) || got[9+3] != 7 ||
		binary.BigEndian.Uint32(got[9+9+4:]) != codec.H2HTTP11Required {
		t.Fatalf("answer %x; want SETTINGS then GOAWAY HTTP_1_1_REQUIRED", got)
	}
	for _, l := range logs.JSONLines(t) {
		if strings.Contains(fmt.Sprint(l["msg"]), "HTTP/2") && l["level"] != "INFO" {
			t.Errorf("logged at %v; want INFO: %v", l["level"], l)
		}
	}
	if !logHas(t, logs, "HTTP/2 client refused with GOAWAY HTTP_1_1_REQUIRED: wsproxy speaks HTTP/1.1", "127.0.0.1") {
		t.Errorf("no info line for the HTTP/2 client:\n%s", logs.String())
	}
}

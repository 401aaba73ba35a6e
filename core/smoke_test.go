package core_test

import (
	"bytes"
	"strings"
	"testing"

	"wsproxy/internal/testutil"

	"github.com/gorilla/websocket"
)

func TestSmokeHTTPAndWebSocket(t *testing.T) {
	addr, _ := simpleProxy(t)
	code, body := testutil.Get(t, nil, "http://"+addr+"/hello?x=1")
	if code != 200 || !strings.Contains(body, `"path":"/hello"`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
		msg := bytes.Repeat([]byte{'x'}, n)
		if err := c.WriteMessage(websocket.BinaryMessage, msg); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes: got %d bytes", n, len(got))
		}
	}
}

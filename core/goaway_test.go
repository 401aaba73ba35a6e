package core_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestDrainClosesTunnelsWithGoingAway: when a drain times out, an open
// WebSocket gets a Close 1001 from the proxy rather than a bare FIN, and
// the proxy's open-connection count drops to zero.
func TestDrainClosesTunnelsWithGoingAway(t *testing.T) {
	e := startEcho(t, "e1")
	srv, addr := startProxy(t, `
listen: [{addr: "127.0.0.1:0"}]
routes: [{path: /, upstream: "`+e.Addr().String()+`"}]
`)
	var conns []*websocket.Conn
	for i := 0; i < 5; i++ {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if err := c.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	srv.Drain(100 * time.Millisecond)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Errorf("conn %d: read after drain: %v; want close 1001", i, err)
		}
	}
	if n := srv.Open(); n != 0 {
		t.Errorf("open connections after drain = %d; want 0", n)
	}
}

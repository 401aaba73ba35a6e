package loadtest_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"wsproxy/internal/testutil"
	"wsproxy/loadtest"
)

// TestMain runs the child side of a spread run when the test binary is
// started as a child (os.Args[0] is the test binary, so the parent re-execs
// it as "<test binary> loadtest -child JSON" with loadtest.ChildEnv set).
func TestMain(m *testing.M) {
	if os.Getenv(loadtest.ChildEnv) != "" {
		os.Exit(loadtest.ChildMain(os.Args[3:]))
	}
	os.Exit(m.Run())
}

// echoServer is a gorilla/websocket echo server for the tests.
type echoServer struct {
	// drop, if not nil, makes every connection close right after its first
	// echo once drop is closed.
	drop chan struct{}
	// corrupt flips a byte of every echo after the first.
	corrupt bool

	mu      sync.Mutex
	peers   map[string]int // connections by client IP
	cookies map[string]int // Cookie headers seen
}

var upgrader = websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 4096}

// start serves s on 127.0.0.1:0 until the test ends and returns its URL.
func (s *echoServer) start(t *testing.T) string {
	t.Helper()
	s.peers, s.cookies = map[string]int{}, map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/echo"
}

func (s *echoServer) serve(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	s.mu.Lock()
	s.peers[host]++
	s.cookies[r.Header.Get("Cookie")]++
	s.mu.Unlock()
	for n := 0; ; n++ {
		mt, rd, err := c.NextReader()
		if err != nil {
			return
		}
		msg, err := io.ReadAll(rd)
		if err != nil {
			return
		}
		if s.corrupt && n > 0 {
			msg[len(msg)/2] ^= 0x20
		}
		if err := c.WriteMessage(mt, msg); err != nil {
			return
		}
		if s.drop != nil && n == 0 {
			<-s.drop
			return
		}
	}
}

func (s *echoServer) peerCount() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.peers {
		out[k] = v
	}
	return out
}

// rawServer accepts TCP connections on 127.0.0.1:0 and hands each to fn,
// for answers no real WebSocket server gives. It returns the ws:// URL.
func rawServer(t *testing.T, fn func(c net.Conn, req *http.Request)) string {
	t.Helper()
	return "ws://" + testutil.Serve(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err == nil {
			fn(c, req)
		}
	}) + "/"
}

// refusedURL returns a URL on a loopback port whose connects are refused.
func refusedURL(t *testing.T) string {
	t.Helper()
	return "ws://" + testutil.RefusedAddr(t) + "/"
}

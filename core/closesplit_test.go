package core_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/gobwas/ws"
	gorilla "github.com/gorilla/websocket"

	"wsproxy/codec"
	"wsproxy/core"
	"wsproxy/internal/testutil"
)

// Close frames split across reads, through a running proxy: the proxy
// forwards a valid one whole and answers an invalid one as it does when it
// comes in one read (1002 to the sender, 1001 to the receiver), with
// nothing of it forwarded.

// closeFrameBody is a Close payload: code, then reason as given (not cut,
// not checked).
func closeFrameBody(code ws.StatusCode, reason string) []byte {
	return append(codec.AppendClosePayload(nil, code, ""), reason...)
}

// readFrameUnmasked reads one frame from br and returns it with its
// payload unmasked.
func readFrameUnmasked(br *bufio.Reader) (ws.Frame, error) {
	f, err := ws.ReadFrame(br)
	if err == nil && f.Header.Masked {
		ws.Cipher(f.Payload, f.Header.Mask, 0)
	}
	return f, err
}

// closeOf returns the code and reason of a Close frame f, or an error
// naming what f is.
func closeOf(f ws.Frame, err error) (ws.StatusCode, string, error) {
	if err != nil {
		return 0, "", err
	}
	if f.Header.OpCode != ws.OpClose {
		return 0, "", fmt.Errorf("a %v frame of %d bytes, not a Close", f.Header.OpCode, f.Header.Length)
	}
	code, reason := ws.ParseCloseFrameData(f.Payload)
	return code, reason, nil
}

// TestCloseSplitGorillaBackend: a raw client writes a Close in two
// writes, the second only once the proxy has read the frame's header
// (its frame count), to a gorilla/websocket backend, a peer we did not
// write, whose own checks refuse an invalid Close (it answers 1002 and
// reports a protocol error, not a Close). A valid Close reaches it as
// sent; for an invalid one it gets the proxy's 1001 and the client 1002.
func TestCloseSplitGorillaBackend(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		code   ws.StatusCode // what gorilla reports
		reason string
		back   ws.StatusCode // the proxy's Close to the client; 0: the backend's echo of the Close
	}{
		{name: "1000 bye", body: closeFrameBody(1000, "bye, split"), code: 1000, reason: "bye, split"},
		{name: "reason not UTF-8", body: closeFrameBody(1000, "bye \xff split"), code: 1001, reason: "going away", back: ws.StatusInvalidFramePayloadData},
		{name: "code 1005", body: closeFrameBody(1005, "no status"), code: 1001, reason: "going away", back: ws.StatusProtocolError},
	}
	for _, tt := range tests {
		frame := clientFrame(ws.OpClose, string(tt.body))
		for _, first := range []int{6, 7, 8, 10} { // the header (with its mask), then 0, 1, 2, 4 payload bytes
			t.Run(fmt.Sprintf("%s/%d", tt.name, first), func(t *testing.T) {
				got := make(chan error, 1)
				backend := gorillaBackend(t, func(c *gorilla.Conn) {
					_, _, err := c.ReadMessage()
					got <- err
				})
				srv, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
routes: [{path: /, upstream: %q}]
`, backend))
				c, br := rawWebSocket(t, addr, "/")
				writeAll(t, c, string(frame[:first]))
				testutil.WaitFor(t, "the Close header read", func() bool { return srv.Stats().FramesUp >= 1 })
				writeAll(t, c, string(frame[first:]))
				var ce *gorilla.CloseError
				if err := <-got; !errors.As(err, &ce) || ce.Code != int(tt.code) || ce.Text != tt.reason {
					t.Fatalf("the backend got %v; want Close %d %q", err, tt.code, tt.reason)
				}
				code, reason, err := closeOf(readFrameUnmasked(br))
				switch {
				case err != nil:
					t.Fatalf("the client got %v; want a Close", err)
				case tt.back == 0 && code != tt.code:
					t.Errorf("the client got Close %d %q; want the backend's %d", code, reason, tt.code)
				case tt.back != 0 && code != tt.back:
					t.Errorf("the client got Close %d %q; want %d", code, reason, tt.back)
				}
			})
		}
	}
}

// TestCloseSplitBehindSplicedFrame: a Close behind a large data frame,
// both in one write. While a direction's frames are spliced its reads stop
// just past the next header (tunnelReadMax), so the proxy reads the Close
// in two parts or more whenever the splice path ran; the receiver must
// get the data frame whole and then the Close as sent, or, for an invalid
// one, the proxy's 1001 with the sender getting 1002. Both directions.
func TestCloseSplitBehindSplicedFrame(t *testing.T) {
	if !core.SpliceSupported {
		t.Skip("no splice on this platform")
	}
	big := payload(256<<10, false, 7)
	for _, fromClient := range []bool{true, false} {
		for _, bad := range []bool{false, true} {
			body := closeFrameBody(4000, "closing after the big one")
			if bad {
				body = closeFrameBody(4000, "closing after the big \xc0\xaf one")
			}
			t.Run(fmt.Sprintf("from client %v, invalid %v", fromClient, bad), func(t *testing.T) {
				enc := serverFrame
				if fromClient {
					enc = clientFrame
				}
				stream := append(enc(ws.OpBinary, string(big)), enc(ws.OpClose, string(body))...)
				backendGot := make(chan error, 1)
				backend := rawBackend(t, func(c net.Conn) {
					br := bufio.NewReader(c)
					if _, err := acceptWebSocket(c, br, ""); err != nil {
						backendGot <- err
						return
					}
					if fromClient {
						backendGot <- checkSplicedThenClose(br, big, body, bad, ws.StatusGoingAway)
						return
					}
					if _, err := c.Write(stream); err != nil {
						backendGot <- err
						return
					}
					want := ws.StatusNormalClosure // the client's answer to a valid Close
					if bad {
						want = ws.StatusInvalidFramePayloadData // the proxy's
					}
					if code, reason, err := closeOf(readFrameUnmasked(br)); err != nil || code != want {
						backendGot <- fmt.Errorf("the backend got Close %d %q, %v; want %d", code, reason, err, want)
						return
					}
					backendGot <- nil
				})
				_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 1
routes: [{path: /, upstream: %q}]
`, backend))
				c, br := rawWebSocket(t, addr, "/")
				if fromClient {
					writeAll(t, c, string(stream))
					if bad {
						code, reason, err := closeOf(readFrameUnmasked(br))
						if err != nil || code != ws.StatusInvalidFramePayloadData || !strings.Contains(reason, "UTF-8") {
							t.Errorf("the client got Close %d %q, %v; want 1007 about UTF-8", code, reason, err)
						}
					}
				} else {
					if err := checkSplicedThenClose(br, big, body, bad, ws.StatusGoingAway); err != nil {
						t.Error(err)
					}
					if !bad {
						writeAll(t, c, string(clientFrame(ws.OpClose, string(closeFrameBody(1000, "")))))
					}
				}
				if err := <-backendGot; err != nil {
					t.Error(err)
				}
			})
		}
	}
}

// checkSplicedThenClose reads from br the data frame big, then a Close:
// body as sent when the Close was valid, else one with code from the
// proxy.
func checkSplicedThenClose(br *bufio.Reader, big, body []byte, bad bool, code ws.StatusCode) error {
	f, err := readFrameUnmasked(br)
	if err != nil || f.Header.OpCode != ws.OpBinary || !bytes.Equal(f.Payload, big) {
		return fmt.Errorf("the data frame: %v, %v, %d bytes; want binary, %d bytes as sent", err, f.Header.OpCode, len(f.Payload), len(big))
	}
	f, err = readFrameUnmasked(br)
	got, reason, err := closeOf(f, err)
	switch {
	case err != nil:
		return fmt.Errorf("after the data frame: %v; want a Close", err)
	case !bad && !bytes.Equal(f.Payload, body):
		return fmt.Errorf("the Close: %q; want %q as sent", f.Payload, body)
	case bad && got != code:
		return fmt.Errorf("the Close: %d %q; want the proxy's %d", got, reason, code)
	}
	return nil
}

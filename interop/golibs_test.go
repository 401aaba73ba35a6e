//go:build linux

package interop

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	gorilla "github.com/gorilla/websocket"

	"wsproxy/internal/testcert"
)

// pattern is the text P of the script (doc.go).
func pattern() []byte {
	p := make([]byte, 3*16384)
	x := 1
	for i := range p {
		x = (75*x + 74) % 65537
		p[i] = 'a' + byte(x%26)
	}
	return p
}

// wsConn is one end of a WebSocket for the script, over gorilla or
// coder/websocket.
type wsConn interface {
	// write sends one message made of parts, written one by one through
	// the library's streaming writer: the library frames them.
	write(text bool, parts ...[]byte) error
	// read returns the next message.
	read() (text bool, data []byte, err error)
	// close sends a Close with code and reason and waits for the peer's.
	close(code int, reason string) error
	// closed returns the Close code and reason err carries, if any.
	closed(err error) (code int, reason string, ok bool)
	// abort closes the connection without a Close handshake.
	abort()
}

// gorillaConn is a wsConn over gorilla/websocket.
type gorillaConn struct{ c *gorilla.Conn }

func (g gorillaConn) write(text bool, parts ...[]byte) error {
	w, err := g.c.NextWriter(map[bool]int{true: gorilla.TextMessage, false: gorilla.BinaryMessage}[text])
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Close()
}

func (g gorillaConn) read() (bool, []byte, error) {
	mt, r, err := g.c.NextReader()
	if err != nil {
		return false, nil, err
	}
	data, err := io.ReadAll(r)
	return mt == gorilla.TextMessage, data, err
}

func (g gorillaConn) close(code int, reason string) error {
	if err := g.c.WriteControl(gorilla.CloseMessage, gorilla.FormatCloseMessage(code, reason), time.Now().Add(hangGuard)); err != nil {
		return err
	}
	for {
		if _, _, err := g.c.NextReader(); err != nil {
			if _, _, ok := g.closed(err); ok {
				return nil
			}
			return err
		}
	}
}

func (g gorillaConn) abort() { g.c.Close() }

func (gorillaConn) closed(err error) (int, string, bool) {
	var ce *gorilla.CloseError
	if errors.As(err, &ce) {
		return ce.Code, ce.Text, true
	}
	return 0, "", false
}

// coderConn is a wsConn over coder/websocket.
type coderConn struct {
	c   *websocket.Conn
	ctx context.Context
}

func (c coderConn) write(text bool, parts ...[]byte) error {
	w, err := c.c.Writer(c.ctx, map[bool]websocket.MessageType{true: websocket.MessageText, false: websocket.MessageBinary}[text])
	if err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return w.Close()
}

func (c coderConn) read() (bool, []byte, error) {
	mt, data, err := c.c.Read(c.ctx)
	return mt == websocket.MessageText, data, err
}

func (c coderConn) close(code int, reason string) error {
	return c.c.Close(websocket.StatusCode(code), reason)
}

func (c coderConn) abort() { c.c.CloseNow() }

func (coderConn) closed(err error) (int, string, bool) {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return int(ce.Code), ce.Reason, true
	}
	return 0, "", false
}

// coderReadLimit lets coder/websocket read the 1 MiB message: its default
// limit is 32 KiB, the one option the script cannot leave at its default.
const coderReadLimit = 2 << 20

// dialGo connects with gorilla ("gorilla") or coder/websocket ("coder"),
// compression on; tc is nil for ws://.
func dialGo(ctx context.Context, lib, url string, tc *tls.Config) (wsConn, string, error) {
	if lib == "gorilla" {
		d := gorilla.Dialer{EnableCompression: true, TLSClientConfig: tc, HandshakeTimeout: hangGuard}
		c, resp, err := d.DialContext(ctx, url, nil)
		if err != nil {
			return nil, "", err
		}
		c.NetConn().SetDeadline(time.Now().Add(hangGuard))
		return gorillaConn{c}, resp.Header.Get("Sec-WebSocket-Extensions"), nil
	}
	opts := &websocket.DialOptions{CompressionMode: websocket.CompressionContextTakeover}
	if tc != nil {
		opts.HTTPClient = &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	c, resp, err := websocket.Dial(ctx, url, opts)
	if err != nil {
		return nil, "", err
	}
	c.SetReadLimit(coderReadLimit)
	return coderConn{c, ctx}, resp.Header.Get("Sec-WebSocket-Extensions"), nil
}

// runGoClient runs the script with a Go library against base.
func runGoClient(lib, base string, wss bool) (res clientResult) {
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var tc *tls.Config
	if wss {
		tc = &tls.Config{RootCAs: testcert.Roots(), ServerName: serverName}
	}
	step := "connect a"
	defer func() {
		if res.Error != "" {
			res.Error = step + ": " + res.Error
		}
	}()
	c, ext, err := dialGo(ctx, lib, base+"/a", tc)
	if err != nil {
		return clientResult{Error: err.Error()}
	}
	defer c.abort()
	res.Extensions = ext
	big := bigMessage()
	p := pattern()
	for _, m := range []struct {
		step  string
		text  bool
		parts [][]byte
		want  []byte
	}{
		{"text", true, [][]byte{[]byte("hello, interop")}, []byte("hello, interop")},
		{"binary", false, [][]byte{bytes256()}, bytes256()},
		{"binary 1 MiB", false, [][]byte{big}, big},
		{"fragmented text from the client", true, [][]byte{p[:16384], p[16384:32768], p[32768:]}, p},
		{"fragmented text from the server", true, [][]byte{[]byte("fragments")}, p},
	} {
		step = m.step
		if err := c.write(m.text, m.parts...); err != nil {
			return clientResult{Error: err.Error()}
		}
		text, data, err := c.read()
		if err != nil {
			return clientResult{Error: err.Error()}
		}
		if text != m.text || !bytes.Equal(data, m.want) {
			return clientResult{Error: fmt.Sprintf("got text %v, %d bytes; want text %v, %d bytes", text, len(data), m.text, len(m.want))}
		}
	}
	step = "close 4000"
	if err := c.close(4000, "client done"); err != nil {
		return clientResult{Error: err.Error()}
	}
	step = "connect b"
	if c, _, err = dialGo(ctx, lib, base+"/b", tc); err != nil {
		return clientResult{Error: err.Error()}
	}
	defer c.abort()
	step = "close 4001 from the server"
	if err := c.write(true, []byte("close 4001")); err != nil {
		return clientResult{Error: err.Error()}
	}
	_, data, err := c.read()
	code, reason, ok := c.closed(err)
	if !ok {
		return clientResult{Error: fmt.Sprintf("got %d bytes, error %v; want a Close", len(data), err)}
	}
	res.Code, res.Reason = code, reason
	return res
}

// bigMessage is 1 MiB less 1 KiB of random hex digits (doc.go).
func bigMessage() []byte {
	raw := make([]byte, (1<<20-1024)/2)
	rand.Read(raw)
	return []byte(hex.EncodeToString(raw))
}

func bytes256() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// serveScript answers the script on c and returns the report.
func serveScript(c wsConn, rep serverReport) serverReport {
	p := pattern()
	for {
		text, data, err := c.read()
		if err != nil {
			if code, reason, ok := c.closed(err); ok {
				rep.Code, rep.Reason = code, reason
			} else if rep.Code == 0 {
				rep.Error = err.Error()
			}
			return rep
		}
		switch s := string(data); {
		case text && s == "fragments":
			err = c.write(true, p[:16384], p[16384:32768], p[32768:])
		case text && strings.HasPrefix(s, "close "):
			code, _ := strconv.Atoi(s[len("close "):])
			rep.Code, rep.Reason = code, "server done"
			if err = c.close(code, "server done"); err == nil {
				return rep
			}
		default:
			err = c.write(text, data)
		}
		if err != nil {
			rep.Error = err.Error()
			return rep
		}
	}
}

// startGoServer serves the script with lib ("gorilla" or "coder"),
// compression on, on 127.0.0.1:0.
func startGoServer(t *testing.T, lib string) (string, *reports) {
	t.Helper()
	reps := newReports()
	up := gorilla.Upgrader{EnableCompression: true}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
		defer cancel()
		rep := serverReport{Path: r.URL.Path}
		var c wsConn
		if lib == "gorilla" {
			gc, err := up.Upgrade(w, r, nil)
			if err != nil {
				return // Upgrade answered the request
			}
			gc.NetConn().SetDeadline(time.Now().Add(hangGuard))
			c = gorillaConn{gc}
			// gorilla does not say what it negotiated.
		} else {
			cc, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionContextTakeover})
			if err != nil {
				return
			}
			cc.SetReadLimit(coderReadLimit)
			c = coderConn{cc, ctx}
			rep.Extensions = w.Header().Get("Sec-WebSocket-Extensions")
		}
		defer c.abort()
		reps.add(serveScript(c, rep))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), reps
}

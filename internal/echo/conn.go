package echo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"net/netip"
	"strconv"
	"strings"

	"github.com/gobwas/ws"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/sys/unix"

	"wsproxy/codec"
	"wsproxy/internal/reactor"
	"wsproxy/poller"
)

// backlog is how much unsent echo output pauses reading from a client.
const backlog = 256 << 10

// conn is one connection to an Server.
type conn struct {
	srv     *Server
	l       *loop
	sock    reactor.Socket
	events  poller.Event // current interest
	peer    netip.AddrPort
	in      *bytebufferpool.ByteBuffer // unprocessed bytes: a partial head
	ws      bool
	closing bool // close once output is written

	// HTTP request in progress.
	inBody bool
	body   codec.BodyScanner
	nbody  int64 // payload bytes: a chunked body is reported decoded
	sum    hash.Hash
	dec    dechunker
	report report
	close  bool

	// WebSocket frame in progress.
	sc  codec.FrameScanner
	cur ws.Header
	pos int64
	ctl *bytebufferpool.ByteBuffer // control frame payload being collected
}

// report is what the echo backend tells about an HTTP request.
type report struct {
	ID              string   `json:"id"`
	Method          string   `json:"method"`
	Path            string   `json:"path"`
	Query           string   `json:"query"`
	Host            string   `json:"host"`
	XForwardedFor   string   `json:"x_forwarded_for"`
	XRealIP         string   `json:"x_real_ip"`
	XForwardedProto string   `json:"x_forwarded_proto"`
	Connection      string   `json:"connection"`
	Upgrade         string   `json:"upgrade"`
	Peer            string   `json:"peer"`
	BodyBytes       int64    `json:"body_bytes"`
	BodySHA256      string   `json:"body_sha256"`
	Headers         []string `json:"headers"` // every field line as "Name: value", in order
	status          int
	size            int
	chunked         bool
	head            bool
}

func (c *conn) interest() poller.Event {
	var ev poller.Event
	if !c.closing && c.sock.Pending() < backlog {
		ev |= poller.Readable
	}
	if c.sock.Pending() > 0 {
		ev |= poller.Writable
	}
	return ev
}

func (c *conn) OnEvent(ev poller.Event) {
	l := c.l
	if ev&(poller.Writable|poller.Error) != 0 && c.sock.Pending() > 0 {
		done, err := c.sock.Flush()
		if err != nil || done && c.closing {
			c.Shutdown()
			return
		}
	}
	if ev&(poller.Readable|poller.Hangup|poller.Error) != 0 && !c.closing && c.sock.Pending() < backlog {
		n, err := c.sock.Read(l.Buf)
		if err == unix.EAGAIN {
			return
		}
		if err != nil || n == 0 {
			c.Shutdown()
			return
		}
		data := l.Buf[:n]
		if c.in != nil {
			c.in.B = append(c.in.B, data...)
			data = c.in.B
		}
		rest := c.process(data)
		if c.sock.FD() < 0 {
			return
		}
		switch {
		case len(rest) == 0 && c.in != nil:
			bytebufferpool.Put(c.in)
			c.in = nil
		case len(rest) > 0 && c.in == nil:
			c.in = bytebufferpool.Get()
			c.in.B = append(c.in.B, rest...)
		case len(rest) > 0:
			c.in.B = c.in.B[:copy(c.in.B, rest)]
		}
		if c.closing && c.sock.Pending() == 0 {
			c.Shutdown()
			return
		}
	}
	c.setInterest(c.interest())
}

// process handles data and returns what must wait for more bytes.
func (c *conn) process(data []byte) []byte {
	for len(data) > 0 && !c.closing {
		switch {
		case c.ws:
			c.frames(data)
			return nil
		case c.inBody:
			n, done, err := c.body.Scan(data)
			if err != nil {
				c.fail(400, "malformed chunked body")
				return nil
			}
			if c.body.Kind() == codec.BodyChunked {
				c.dec.payload(data[:n], c.addBody)
			} else {
				c.addBody(data[:n])
			}
			data = data[n:]
			if done {
				c.inBody = false
				c.respond()
			}
		default:
			n, ok := c.head(data)
			if !ok {
				return data
			}
			data = data[n:]
		}
	}
	return nil
}

// head parses one request head; ok is false when more bytes are needed.
func (c *conn) head(data []byte) (int, bool) {
	req := &c.l.req
	n, err := codec.ParseRequest(data, req)
	if err == codec.ErrShort {
		if len(data) > 64<<10 {
			c.fail(431, "request header fields too large")
		}
		return 0, false
	}
	if err == nil {
		err = codec.ValidateRequest(req)
	}
	if err == nil && req.Upgrade {
		err = codec.ValidateUpgrade(req)
	}
	if err != nil {
		c.fail(400, err.Error())
		return len(data), true
	}
	if req.Upgrade {
		out := append(c.l.hbuf[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
		out = codec.AppendAcceptKey(out, req.WSKey)
		out = append(out, "\r\nX-Echo-Id: "...)
		out = append(append(out, c.srv.ID...), "\r\nX-Echo-Path: "...)
		out = append(out, req.Path...)
		if len(req.Query) > 0 {
			out = append(append(out, '?'), req.Query...)
		}
		out = append(out, "\r\n\r\n"...)
		c.l.hbuf = out[:0]
		c.ws = true
		c.write(out)
		return n, true
	}
	c.report = report{
		ID: c.srv.ID, Method: string(req.Method), Path: string(req.Path), Query: string(req.Query),
		Host: string(req.Host), Peer: c.peer.String(), status: 200,
		head: string(req.Method) == "HEAD",
	}
	for _, h := range req.Headers {
		c.report.Headers = append(c.report.Headers, string(h.Name)+": "+string(h.Value))
		switch {
		case codec.EqualFold(h.Name, "X-Forwarded-For"):
			c.report.XForwardedFor = string(h.Value)
		case codec.EqualFold(h.Name, "X-Real-IP"):
			c.report.XRealIP = string(h.Value)
		case codec.EqualFold(h.Name, "X-Forwarded-Proto"):
			c.report.XForwardedProto = string(h.Value)
		case codec.EqualFold(h.Name, "Connection"):
			c.report.Connection = string(h.Value)
		case codec.EqualFold(h.Name, "Upgrade"):
			c.report.Upgrade = string(h.Value)
		}
	}
	if rest, ok := strings.CutPrefix(c.report.Path, "/status/"); ok {
		if s, err := strconv.Atoi(rest); err == nil && s >= 200 && s <= 599 {
			c.report.status = s
		}
	}
	for _, kv := range strings.Split(c.report.Query, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "size":
			c.report.size, _ = strconv.Atoi(v)
		case "chunked":
			c.report.chunked = v == "1"
		}
	}
	c.close = req.Close
	kind, size := req.Body()
	c.body.Reset(kind, size)
	c.nbody = 0
	c.sum = sha256.New()
	c.dec = dechunker{}
	if kind == codec.BodyNone {
		c.respond()
	} else {
		c.inBody = true
	}
	return n, true
}

func (c *conn) addBody(p []byte) {
	c.sum.Write(p)
	c.nbody += int64(len(p))
}

// dechunker extracts the payload of a chunked body whose framing a
// codec.ChunkedScanner has already checked, so that the report describes
// what the client meant to send rather than its transfer coding.
type dechunker struct {
	state uint8 // 0 size digits, 1 rest of the size line, 2 data, 3 CRLF after data, 4 trailer
	left  int64 // chunk size being read, then data bytes left
	crlf  int
}

// payload passes the payload bytes within p to out.
func (d *dechunker) payload(p []byte, out func([]byte)) {
	for len(p) > 0 && d.state != 4 {
		switch d.state {
		case 0:
			if v := strings.IndexByte("0123456789abcdef", p[0]|0x20); v >= 0 {
				d.left = d.left<<4 | int64(v)
				p = p[1:]
				continue
			}
			d.state = 1
		case 1:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			p = p[i+1:]
			d.state = 2
			if d.left == 0 {
				d.state = 4
			}
		case 2:
			n := min(int64(len(p)), d.left)
			out(p[:n])
			p, d.left = p[n:], d.left-n
			if d.left == 0 {
				d.state, d.crlf = 3, 0
			}
		case 3:
			p = p[1:]
			if d.crlf++; d.crlf == 2 {
				d.state = 0
			}
		}
	}
}

// respond writes the answer to the request whose body just ended.
func (c *conn) respond() {
	r := &c.report
	r.BodyBytes = c.nbody
	r.BodySHA256 = hex.EncodeToString(c.sum.Sum(nil))
	var body []byte
	if r.size > 0 {
		body = make([]byte, r.size)
		for i := range body {
			body[i] = 'a' + byte(i%26)
		}
	} else {
		body, _ = json.Marshal(r)
		body = append(body, '\n')
	}
	nobody := r.status == 204 || r.status == 304
	b := bytebufferpool.Get()
	defer bytebufferpool.Put(b)
	b.B = append(b.B, "HTTP/1.1 "...)
	b.B = strconv.AppendInt(b.B, int64(r.status), 10)
	b.B = append(append(b.B, ' '), codec.StatusText(r.status)...)
	b.B = append(b.B, "\r\nX-Echo-Id: "...)
	b.B = append(b.B, c.srv.ID...)
	if !nobody {
		b.B = append(b.B, "\r\nContent-Type: application/json"...)
		if r.chunked {
			b.B = append(b.B, "\r\nTransfer-Encoding: chunked"...)
		} else {
			b.B = append(b.B, "\r\nContent-Length: "...)
			b.B = strconv.AppendInt(b.B, int64(len(body)), 10)
		}
	}
	if c.close {
		b.B = append(b.B, "\r\nConnection: close"...)
	}
	b.B = append(b.B, "\r\n\r\n"...)
	if !nobody && !r.head {
		if r.chunked {
			for off := 0; off < len(body); off += 1000 {
				end := min(off+1000, len(body))
				b.B = strconv.AppendInt(b.B, int64(end-off), 16)
				b.B = append(append(append(b.B, "\r\n"...), body[off:end]...), "\r\n"...)
			}
			b.B = append(b.B, "0\r\n\r\n"...)
		} else {
			b.B = append(b.B, body...)
		}
	}
	c.write(b.B)
	if c.close {
		c.closing = true
	}
}

func (c *conn) fail(status int, reason string) {
	out := codec.AppendStatusResponse(nil, status, reason)
	c.write(out)
	c.closing = true
}

func (c *conn) write(p []byte) {
	if err := c.sock.Write(p); err != nil {
		c.Shutdown()
	}
}

func (c *conn) Shutdown() {
	if c.sock.FD() < 0 {
		return
	}
	c.closeSocket()
	for _, b := range []**bytebufferpool.ByteBuffer{&c.in, &c.ctl} {
		if *b != nil {
			bytebufferpool.Put(*b)
			*b = nil
		}
	}
	c.srv.open.Add(-1)
}

// setInterest updates the poller interest if it changed.
func (c *conn) setInterest(ev poller.Event) {
	if c.sock.FD() < 0 || ev == c.events {
		return
	}
	c.events = ev
	if err := c.l.Modify(c.sock.FD(), ev); err != nil {
		c.l.Log.Error("echo: epoll_ctl failed; closing", "err", err)
		c.Shutdown()
	}
}

// close unregisters and closes the socket, dropping unsent output.
func (c *conn) closeSocket() {
	c.l.Unregister(c.sock.FD())
	reactor.CloseFD(c.sock.FD())
	c.sock.SetFD(-1)
	c.sock.Release()
}

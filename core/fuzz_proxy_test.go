package core_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wsproxy/codec"
	"wsproxy/config"
	"wsproxy/core"
)

// FuzzProxyRequests sends arbitrary bytes through a real proxy loop to a
// backend that parses what it gets with codec, and checks that the
// backend receives exactly the requests, with exactly the bodies, that
// the proxy's own parse of the input says it forwards: never one more
// (smuggled), never a body framed otherwise. It also checks that the
// client gets an answer for each of them, and that nothing panics.
func FuzzProxyRequests(f *testing.F) {
	for _, tc := range allDiffCases() {
		f.Add([]byte(tc.in))
	}
	f.Add([]byte(post("/a", "", "hello") + get("/b", "") + "HEAD /c HTTP/1.1\r\nHost: t\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\nGET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nshort"))

	be := startCodecBackend(f)
	cfg, err := config.Parse("fuzz.yaml", []byte(fmt.Sprintf(
		"listen: [{addr: \"127.0.0.1:0\"}]\nloops: 1\nroutes: [{path: /, upstream: %q}]\n", be.addr)))
	if err != nil {
		f.Fatal(err)
	}
	srv, err := core.New(cfg, core.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(srv.Close)
	addr := srv.Addrs()[0].String()

	f.Fuzz(func(t *testing.T, in []byte) {
		m := modelRequests(in, cfg.Limits.MaxHeaderBytes)
		mark := be.mark()
		resps, err := m.run(addr, in)
		if err != nil {
			t.Fatalf("client: %v (model %s)", err, m)
		}
		got := be.since(mark)
		if want := m.summary(); got != want {
			t.Fatalf("backend received %s;\nthe proxy's parse forwards %s\ninput %q", got, want, in)
		}
		if resps != len(m.reqs) {
			t.Fatalf("client read %d answers from the backend; want %d (model %s)", resps, len(m.reqs), m)
		}
	})
}

// model is what the proxy's parse of an input says it forwards.
type model struct {
	reqs []modelReq
	tail string // "end": all used, endRequest added; "close": the last request closes; "error": answered 4xx/5xx; "short": incomplete
}

type modelReq struct{ method, body string }

func (m model) summary() string {
	var s []string
	for _, r := range m.reqs {
		s = append(s, fmt.Sprintf("%s[%q]", r.method, r.body))
	}
	if m.tail == "end" {
		s = append(s, `GET[""]`)
	}
	return strings.Join(s, " ")
}

func (m model) String() string { return m.summary() + " then " + m.tail }

// modelRequests walks in as the proxy does: parse, validate, normalise,
// route (the only route is "/"), frame the body, next.
func modelRequests(in []byte, maxHead int) model {
	var m model
	var r codec.Request
	for off := 0; ; {
		if off == len(in) {
			m.tail = "end"
			return m
		}
		n, err := codec.ParseRequest(in[off:], &r)
		switch {
		case err == codec.ErrShort && len(in)-off <= maxHead:
			m.tail = "short"
			return m
		case err == nil && n > maxHead, err != nil:
			m.tail = "error"
			return m
		}
		if err = codec.ValidateRequest(&r); err == nil && r.Upgrade {
			err = codec.ValidateUpgrade(&r)
		}
		if err == nil && (r.Path == nil || string(r.Path) == "*") {
			err = codec.ErrBadTarget // no route: 404
		}
		if err == nil {
			_, err = codec.NormalizePath(nil, r.Path)
		}
		if err != nil {
			m.tail = "error"
			return m
		}
		body := in[off+n:]
		switch kind, size := r.Body(); kind {
		case codec.BodyNone:
			body = body[:0]
		case codec.BodyLength:
			if int64(len(body)) < size {
				m.tail = "short" // forwarded, cut short: the backend sees no whole request
				return m
			}
			body = body[:size]
		case codec.BodyChunked:
			var sc codec.ChunkedScanner
			k, done, err := sc.Scan(body)
			if err != nil {
				m.tail = "error"
				return m
			}
			if !done {
				m.tail = "short"
				return m
			}
			body = body[:k]
		}
		dec := body
		if r.Chunked {
			dec = dechunk(body)
		}
		m.reqs = append(m.reqs, modelReq{string(r.Method), string(dec)})
		off += n + len(body)
		if r.Close {
			m.tail = "close"
			return m
		}
	}
}

// dechunk decodes a chunked body that codec.ChunkedScanner accepted.
func dechunk(b []byte) []byte {
	var out []byte
	for {
		line := b[:bytes.IndexByte(b, '\n')+1]
		b = b[len(line):]
		var size int
		for _, c := range line {
			d := strings.IndexByte("0123456789abcdef", c|0x20)
			if d < 0 {
				break
			}
			size = size<<4 | d
		}
		if size == 0 {
			return out
		}
		out = append(out, b[:size]...)
		b = b[size+2:]
	}
}

// run sends in (and endRequest after it when the model uses it all) and
// reads the answers as the model says they come; it returns how many
// came from the backend (200). Reading before closing matters: a client
// that half-closes while a request is in flight aborts it.
func (m model) run(addr string, in []byte) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testDeadline))
	out := append([]byte(nil), in...)
	if m.tail == "end" {
		out = append(out, endRequest...)
	}
	go c.Write(out) // a proxy that stops reading must not block the reads
	br := bufio.NewReader(c)
	ok := 0
	want := len(m.reqs)
	if m.tail == "end" {
		want++
	}
	for i := 0; i < want; i++ {
		req := &http.Request{Method: "GET"}
		if i < len(m.reqs) {
			req.Method = m.reqs[i].method
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return ok, fmt.Errorf("answer %d: %v", i, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return ok, fmt.Errorf("answer %d: status %d", i, resp.StatusCode)
		}
		if i < len(m.reqs) {
			ok++
		}
	}
	switch m.tail {
	case "error":
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode < 400 {
			return ok, fmt.Errorf("after %d answers: got %v, %v; want an error status", ok, resp, err)
		}
	case "short":
		c.(*net.TCPConn).CloseWrite()
	}
	_, err = io.Copy(io.Discard, br) // to the end: the proxy has finished with in
	return ok, err
}

// codecBackend answers every request 200, parsing with codec, and logs
// each request it received whole: method and decoded body.
type codecBackend struct {
	addr string
	mu   sync.Mutex
	log  []string
}

func startCodecBackend(t testing.TB) *codecBackend {
	b := &codecBackend{}
	b.addr = rawBackend(t, b.serve)
	return b
}

func (b *codecBackend) mark() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.log)
}

func (b *codecBackend) since(mark int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.log[mark:], " ")
}

func (b *codecBackend) serve(c net.Conn) {
	c.SetDeadline(time.Time{}) // parked upstream connections live as long as the proxy
	var buf []byte
	tmp := make([]byte, 64<<10)
	var r codec.Request
	fill := func() bool {
		n, err := c.Read(tmp)
		buf = append(buf, tmp[:n]...)
		return err == nil
	}
	for {
		n, err := codec.ParseRequest(buf, &r)
		if err == codec.ErrShort {
			if !fill() {
				return
			}
			continue
		}
		if err != nil {
			b.add(fmt.Sprintf("ERR(%v)", err))
			return
		}
		method, kind, size := string(r.Method), codec.BodyNone, int64(0)
		if err := codec.ValidateRequest(&r); err != nil {
			b.add(fmt.Sprintf("ERR(%v)", err))
			return
		}
		kind, size = r.Body()
		var body []byte
		for done := false; !done; {
			rest := buf[n:]
			switch kind {
			case codec.BodyNone:
				done = true
			case codec.BodyLength:
				if done = int64(len(rest)) >= size; done {
					body = rest[:size]
				}
			case codec.BodyChunked:
				var sc codec.ChunkedScanner
				k, ok, err := sc.Scan(rest)
				if err != nil {
					b.add(fmt.Sprintf("ERR(%v)", err))
					return
				}
				if done = ok; done {
					body = rest[:k]
				}
			}
			if !done && !fill() {
				return // cut short: not a whole request
			}
		}
		dec := body
		if kind == codec.BodyChunked {
			dec = dechunk(body)
		}
		b.add(fmt.Sprintf("%s[%q]", method, dec))
		buf = buf[n+len(body):]
		resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
		if method != "HEAD" {
			resp += "ok"
		}
		if _, err := io.WriteString(c, resp); err != nil {
			return
		}
	}
}

func (b *codecBackend) add(s string) {
	b.mu.Lock()
	b.log = append(b.log, s)
	b.mu.Unlock()
}

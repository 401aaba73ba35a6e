package core_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a backend for differential tests: it keeps exactly the bytes
// it receives on each connection and parses them with net/http (a parser
// that is not the proxy's), so a test sees what a real backend would make
// of the proxy's output: how many requests, which heads, which bodies.
type recorder struct {
	addr string
	ln   net.Listener
	wg   sync.WaitGroup

	// answer returns the raw response to the i-th request (counted over
	// all connections, from 0); "" closes the connection without an
	// answer, closeAfter+resp after resp. Nil: answerEcho.
	answer func(i int, r recReq) string

	mu    sync.Mutex
	raw   []*bytes.Buffer // per connection, in accept order
	reqs  []recReq
	conns []net.Conn
}

// recReq is one request as the backend parsed it.
type recReq struct {
	conn   int // index into recorder.raw
	Method string
	URI    string
	Host   string
	Header http.Header
	Body   []byte
	Err    error // the request could not be parsed or its body was cut short
}

// String is the request in a summary: "POST /x[5]", "GET /__end",
// "PARTIAL" or "ERR(...)".
func (r recReq) String() string {
	switch {
	case errors.Is(r.Err, io.ErrUnexpectedEOF):
		return "PARTIAL"
	case r.Err != nil:
		return "ERR(" + r.Err.Error() + ")"
	case len(r.Body) > 0:
		return fmt.Sprintf("%s %s[%d]", r.Method, r.URI, len(r.Body))
	}
	return r.Method + " " + r.URI
}

// closeAfter before an answer makes the recorder close the connection
// once it is written.
const closeAfter = "close:"

// answerEcho answers 200 with "METHOD URI" as the body (none to HEAD).
func answerEcho(_ int, r recReq) string {
	body := r.Method + " " + r.URI
	head := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", len(body))
	if r.Method == "HEAD" {
		return head
	}
	return head + body
}

// startRecorder listens on 127.0.0.1:0. Cleanup closes it; call wait to
// have every connection end first.
func startRecorder(t testing.TB, answer func(int, recReq) string) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	r := &recorder{addr: ln.Addr().String(), ln: ln, answer: answer}
	if r.answer == nil {
		r.answer = answerEcho
	}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(func() {
		ln.Close()
		r.mu.Lock()
		for _, c := range r.conns {
			c.Close()
		}
		r.mu.Unlock()
		r.wg.Wait()
	})
	return r
}

func (r *recorder) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		c.SetDeadline(time.Now().Add(testDeadline))
		r.mu.Lock()
		id := len(r.raw)
		buf := &bytes.Buffer{}
		r.raw = append(r.raw, buf)
		r.conns = append(r.conns, c)
		r.mu.Unlock()
		r.wg.Add(1)
		go r.serve(c, id, buf)
	}
}

// lockedWriter appends to a buffer under the recorder's lock.
type lockedWriter struct {
	r   *recorder
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	return w.buf.Write(p)
}

func (r *recorder) serve(c net.Conn, id int, buf *bytes.Buffer) {
	defer r.wg.Done()
	defer c.Close()
	br := bufio.NewReader(io.TeeReader(c, lockedWriter{r, buf}))
	for {
		if _, err := br.Peek(1); err != nil {
			return // the proxy closed between requests
		}
		req, err := http.ReadRequest(br)
		rr := recReq{conn: id, Err: err}
		if err == nil {
			rr.Method, rr.URI, rr.Host, rr.Header = req.Method, req.RequestURI, req.Host, req.Header
			rr.Body, rr.Err = io.ReadAll(req.Body)
		}
		r.mu.Lock()
		i := len(r.reqs)
		r.reqs = append(r.reqs, rr)
		r.mu.Unlock()
		if rr.Err != nil {
			return
		}
		out := r.answer(i, rr)
		if out == "" {
			return
		}
		last := strings.HasPrefix(out, closeAfter)
		if _, err := io.WriteString(c, strings.TrimPrefix(out, closeAfter)); err != nil || last {
			return
		}
	}
}

// wait closes the listener and waits until every connection has ended;
// the caller must have closed the proxy in front first.
func (r *recorder) wait() {
	r.ln.Close()
	r.wg.Wait()
}

// requests returns what the backend parsed, by connection then order.
func (r *recorder) requests() []recReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recReq(nil), r.reqs...)
}

// summary lists the requests as "POST /[40] GET /__end".
func (r *recorder) summary() string {
	var s []string
	for _, q := range r.requests() {
		s = append(s, q.String())
	}
	return strings.Join(s, " ")
}

// rawBytes returns the bytes received on connection i.
func (r *recorder) rawBytes(i int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if i >= len(r.raw) {
		return ""
	}
	return r.raw[i].String()
}

// endRequest ends the input of every differential row: its answer's body
// is "GET /__end", and after it the proxy closes.
const endRequest = "GET /__end HTTP/1.1\r\nHost: end.test\r\nConnection: close\r\n\r\n"

// clientResp is one response the client read.
type clientResp struct {
	Status int
	Header http.Header
	Body   []byte
}

// exchangeRaw writes in (and endRequest behind it when end is set) on a
// new connection from dial, then reads responses until the connection
// ends; the first answers a request with method first ("" for GET). It
// returns them and how the connection ended: "" for a clean EOF, else the
// error.
func exchangeRaw(t testing.TB, dial func() (net.Conn, error), in, first string, end bool) ([]clientResp, string) {
	t.Helper()
	c, err := dial()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(testDeadline))
	if end {
		in += endRequest
	}
	werr := make(chan error, 1)
	go func() { // a proxy that stops reading must not block the reads below
		_, err := io.WriteString(c, in)
		werr <- err
	}()
	br := bufio.NewReader(c)
	var out []clientResp
	var how string
	for {
		if _, err := br.Peek(1); err != nil {
			if err != io.EOF {
				how = err.Error()
			}
			break
		}
		var req *http.Request
		if len(out) == 0 && first != "" {
			req = &http.Request{Method: first}
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			how = err.Error()
			break
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, clientResp{resp.StatusCode, resp.Header, body})
		if err != nil {
			how = "body: " + err.Error()
			break
		}
	}
	c.Close()
	<-werr
	return out, how
}

// clientSummary lists the responses as "200 400", the answer to
// endRequest as "end", and a connection that ended in an error as
// "reset" (or the error) at the end.
func clientSummary(resps []clientResp, how string) string {
	var s []string
	for _, r := range resps {
		if r.Status == 200 && string(r.Body) == "GET /__end" {
			s = append(s, "end")
			continue
		}
		s = append(s, fmt.Sprint(r.Status))
	}
	switch {
	case how == "":
	case strings.Contains(how, "reset"):
		s = append(s, "reset")
	default:
		s = append(s, "error("+how+")")
	}
	return strings.Join(s, " ")
}

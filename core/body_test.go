package core_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chunked encodes body with chunks of size n and optional trailer lines.
func chunked(body []byte, n int, trailer string) []byte {
	var b bytes.Buffer
	for off := 0; off < len(body); off += n {
		end := min(off+n, len(body))
		fmt.Fprintf(&b, "%x\r\n", end-off)
		b.Write(body[off:end])
		b.WriteString("\r\n")
	}
	b.WriteString("0\r\n" + trailer + "\r\n")
	return b.Bytes()
}

func sum(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

func TestRequestBody(t *testing.T) {
	addr, _ := simpleProxy(t)
	tests := []struct {
		name     string
		size     int
		chunk    int    // chunked encoding with this chunk size; 0: Content-Length
		trailer  string // trailer field lines of a chunked body
		writeLen int    // write the request this many bytes at a time; 0: at once
	}{
		{name: "length empty", size: 0},
		{name: "length small", size: 10},
		{name: "length 1MiB", size: 1 << 20},
		{name: "length 3MB small writes", size: 3_000_000, writeLen: 70_001},
		{name: "length byte per write", size: 300, writeLen: 1},
		{name: "chunked", size: 100_000, chunk: 4096},
		{name: "chunked empty", size: 0, chunk: 10},
		{name: "chunked with trailer", size: 5000, chunk: 1000, trailer: "X-Checksum: abc\r\n"},
		{name: "chunked 2MB", size: 2 << 20, chunk: 65536},
		{name: "chunked small writes", size: 20_000, chunk: 333, writeLen: 7},
		{name: "chunked byte per write", size: 200, chunk: 17, trailer: "X-T: 1\r\n", writeLen: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := payload(tt.size, false, 3)
			var req []byte
			if tt.chunk > 0 {
				req = append([]byte("POST /upload HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n"),
					chunked(body, tt.chunk, tt.trailer)...)
			} else {
				req = append([]byte("POST /upload HTTP/1.1\r\nHost: b\r\nContent-Length: "+strconv.Itoa(tt.size)+"\r\n\r\n"), body...)
			}
			// A second request behind the body proves the proxy found its end.
			req = append(req, "GET /next HTTP/1.1\r\nHost: b\r\n\r\n"...)
			c := dialRaw(t, addr)
			werr := make(chan error, 1)
			go func() {
				chunk := tt.writeLen
				if chunk <= 0 {
					chunk = len(req)
				}
				for off := 0; off < len(req); off += chunk {
					if _, err := c.Write(req[off:min(off+chunk, len(req))]); err != nil {
						werr <- err
						return
					}
				}
				werr <- nil
			}()
			br := bufio.NewReader(c)
			resp, out := readResp(t, br, "POST")
			if resp.StatusCode != 200 {
				t.Fatalf("status: got %d %q; want 200", resp.StatusCode, out)
			}
			r := decodeReport(t, out)
			if r.BodyBytes != int64(tt.size) || r.BodySHA256 != sum(body) {
				t.Errorf("body at the backend: got %d bytes sha256 %.12s; want %d bytes sha256 %.12s",
					r.BodyBytes, r.BodySHA256, tt.size, sum(body))
			}
			if _, out := readResp(t, br, "GET"); decodeReport(t, out).Path != "/next" {
				t.Errorf("request behind the body: got %q; want the report of /next", out)
			}
			if err := <-werr; err != nil {
				t.Fatalf("write: %v", err)
			}
		})
	}
}

func TestRequestBodyNetHTTP(t *testing.T) {
	addr, _ := simpleProxy(t)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	for _, n := range []int{1, 65536, 5 << 20} {
		for _, chunk := range []bool{false, true} {
			t.Run(fmt.Sprintf("%d/chunked=%v", n, chunk), func(t *testing.T) {
				body := payload(n, false, 4)
				var rd io.Reader = bytes.NewReader(body)
				if chunk {
					rd = io.MultiReader(rd) // unknown length: net/http sends chunked
				}
				resp, err := client.Post("http://"+addr+"/up", "application/octet-stream", rd)
				if err != nil {
					t.Fatalf("POST: %v", err)
				}
				out, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("POST: got %d %q, %v; want 200", resp.StatusCode, out, err)
				}
				if r := decodeReport(t, out); r.BodyBytes != int64(n) || r.BodySHA256 != sum(body) {
					t.Errorf("body at the backend: got %d bytes sha256 %.12s; want %d bytes %.12s",
						r.BodyBytes, r.BodySHA256, n, sum(body))
				}
			})
		}
	}
}

func TestResponseBody(t *testing.T) {
	addr, _ := simpleProxy(t)
	tests := []struct {
		name        string
		target      string
		size        int
		wantChunked bool
	}{
		{"chunked", "/r?chunked=1&size=100000", 100000, true},
		{"chunked 3MB", "/r?size=3000000&chunked=1", 3000000, true},
		{"length", "/r?size=100000", 100000, false},
		{"length 8MB", "/r?size=8000000", 8000000, false},
	}
	c := dialRaw(t, addr) // all on one connection: each body must end exactly
	br := bufio.NewReader(c)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeAll(t, c, "GET "+tt.target+" HTTP/1.1\r\nHost: b\r\n\r\n")
			resp, body := readResp(t, br, "GET")
			if resp.StatusCode != 200 {
				t.Fatalf("status: got %d; want 200", resp.StatusCode)
			}
			if got := len(resp.TransferEncoding) > 0; got != tt.wantChunked {
				t.Errorf("chunked: got %v; want %v", got, tt.wantChunked)
			}
			if want := letters(tt.size); string(body) != want {
				t.Errorf("body: got %d bytes (equal prefix %d); want %d letters",
					len(body), commonPrefix(body, []byte(want)), tt.size)
			}
		})
	}
}

func TestExpectContinue(t *testing.T) {
	backend := rawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := readHeadErr(br)
		if err != nil || !strings.Contains(head, "Expect: 100-continue") {
			io.WriteString(c, "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n")
			return
		}
		io.WriteString(c, "HTTP/1.1 100 Continue\r\n\r\n")
		body := make([]byte, 5)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ngot "+string(body[:3]))
	})
	_, addr := startProxy(t, fmt.Sprintf(`
listen: [{addr: "127.0.0.1:0"}]
loops: 2
routes: [{path: /, upstream: %q}]
`, backend))
	c := dialRaw(t, addr)
	br := bufio.NewReader(c)
	writeAll(t, c, "POST /e HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
	if resp, _ := readResp(t, br, "POST"); resp.StatusCode != 100 {
		t.Fatalf("interim response: got %d; want 100", resp.StatusCode)
	}
	writeAll(t, c, "hello")
	if resp, body := readResp(t, br, "POST"); resp.StatusCode != 200 || string(body) != "got hel" {
		t.Fatalf("final response: got %d %q; want 200 \"got hel\"", resp.StatusCode, body)
	}
}

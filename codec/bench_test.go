package codec

import (
	"bytes"
	"fmt"
	"net/http/httputil"
	"strings"
	"testing"
)

func BenchmarkParseRequest(b *testing.B) {
	heads := []struct {
		name string
		in   string
	}{
		{name: "upgrade", in: upgradeRequest},
		{name: "minimal", in: "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{name: "40-headers", in: "GET /api/v1/items?id=42 HTTP/1.1\r\nHost: example.com\r\n" +
			strings.Repeat("X-Forwarded-Something: some value of average length\r\n", 39) + "\r\n"},
		// An 8 KiB head still arriving: the cost of each ErrShort re-parse.
		{name: "short-8KiB", in: "GET / HTTP/1.1\r\n" + strings.Repeat("Cookie: "+strings.Repeat("c", 90)+"\r\n", 82)},
	}
	for _, h := range heads {
		b.Run(h.name, func(b *testing.B) {
			buf := []byte(h.in)
			var r Request
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				ParseRequest(buf, &r)
			}
		})
	}
}

func BenchmarkValidateUpgrade(b *testing.B) {
	buf := []byte(upgradeRequest)
	var r Request
	b.ReportAllocs()
	for b.Loop() {
		ParseRequest(buf, &r)
		if ValidateRequest(&r) != nil || ValidateUpgrade(&r) != nil {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	buf := []byte(upgradeResponse)
	var r Response
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		ParseResponse(buf, &r)
	}
}

// BenchmarkFrameScanner scans 16 KiB of client frames per payload size,
// whole and in reads of 1500 bytes (headers then split across reads).
func BenchmarkFrameScanner(b *testing.B) {
	for _, read := range []int{16 << 10, 1500} {
		for _, payload := range []int{2, 16, 125, 1024, 16 << 10} {
			buf := smallFrames(16<<10, payload)
			b.Run(fmt.Sprintf("read=%d/payload=%d", read, payload), func(b *testing.B) {
				var s FrameScanner
				b.SetBytes(int64(len(buf)))
				b.ReportAllocs()
				for b.Loop() {
					for p := buf; len(p) > 0; {
						r := p[:min(read, len(p))]
						p = p[len(r):]
						for len(r) > 0 {
							n, _, _, _ := s.Scan(r)
							r = r[n:]
						}
					}
				}
			})
		}
	}
}

func BenchmarkChunkedScanner(b *testing.B) {
	for _, chunk := range []int{16, 1024, 16 << 10} {
		var body bytes.Buffer
		w := httputil.NewChunkedWriter(&body)
		data := make([]byte, chunk)
		for body.Len() < 64<<10 {
			w.Write(data)
		}
		w.Close()
		body.WriteString("\r\n")
		buf := body.Bytes()
		b.Run(fmt.Sprintf("chunk=%d", chunk), func(b *testing.B) {
			var s ChunkedScanner
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				s.Reset()
				if n, done, err := s.Scan(buf); n != len(buf) || !done || err != nil {
					b.Fatal(n, done, err)
				}
			}
		})
	}
}

func BenchmarkAppendAcceptKey(b *testing.B) {
	key := []byte("dGhlIHNhbXBsZSBub25jZQ==")
	dst := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendAcceptKey(dst[:0], key)
	}
}

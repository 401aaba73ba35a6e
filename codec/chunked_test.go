package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
)

var chunkedTests = []struct {
	name string
	in   string
	n    int // -1: len(in)
	done bool
	err  error
}{
	{name: "empty body", in: "0\r\n\r\n", n: -1, done: true},
	{name: "one chunk", in: "5\r\nhello\r\n0\r\n\r\n", n: -1, done: true},
	{name: "hex sizes", in: "a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", n: -1, done: true},
	{name: "leading zeros", in: "0005\r\nhello\r\n000\r\n\r\n", n: -1, done: true},
	{name: "next message follows", in: "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", n: 11, done: true},
	{name: "data looks like framing", in: "5\r\n0\r\n\r\n\r\n0\r\n\r\n", n: -1, done: true},
	{name: "extensions", in: "5;a=b;c\r\nhello\r\n0;last\r\n\r\n", n: -1, done: true},
	{name: "extension BWS", in: "5 ; a = b ;c \r\nhello\r\n0\r\n\r\n", n: -1, done: true},
	{name: "quoted extension", in: "5;a=\"x;y\\\"z\"\r\nhello\r\n0\r\n\r\n", n: -1, done: true},
	{name: "trailers", in: "0\r\nExpires: never\r\nX-Sum:abc\r\n\r\n", n: -1, done: true},
	{name: "partial size", in: "5", n: -1},
	{name: "partial data", in: "5\r\nhel", n: -1},
	{name: "partial trailer", in: "0\r\nX: y\r\n", n: -1},
	{name: "no final CRLF", in: "0\r\n", n: -1},

	{name: "no size", in: "\r\nhello\r\n", n: 0, err: ErrChunkSize},
	{name: "not hex", in: "g\r\n", n: 0, err: ErrChunkSize},
	{name: "size then junk", in: "5x\r\n", n: 1, err: ErrChunkSize},
	{name: "negative", in: "-5\r\n", n: 0, err: ErrChunkSize},
	{name: "overflow", in: "8000000000000000\r\n", n: 15, err: ErrChunkSizeOverflow},
	{name: "bare LF after size", in: "5\nhello\r\n0\r\n\r\n", n: 1, err: ErrChunkSize},
	{name: "CR without LF", in: "5\rhello", n: 2, err: ErrChunkCRLF},
	{name: "data too long", in: "5\r\nhello!\r\n", n: 8, err: ErrChunkCRLF},
	{name: "bare LF after data", in: "5\r\nhello\n0\r\n\r\n", n: 8, err: ErrChunkCRLF},
	{name: "empty extension", in: "5;\r\n", n: 2, err: ErrChunkExtension},
	{name: "extension without value", in: "5;a=\r\n", n: 4, err: ErrChunkExtension},
	{name: "extension CTL", in: "5;a=\"\x01\"\r\n", n: 5, err: ErrChunkExtension},
	{name: "extension separator", in: "5;a/b\r\n", n: 3, err: ErrChunkExtension},
	{name: "trailer obs-fold", in: "0\r\nX: y\r\n z\r\n\r\n", n: 9, err: ErrChunkTrailer},
	{name: "trailer no colon", in: "0\r\nX\r\n\r\n", n: 4, err: ErrChunkTrailer},
	{name: "trailer CTL", in: "0\r\nX: \x00\r\n\r\n", n: 6, err: ErrChunkTrailer},
	{name: "bare LF at end", in: "0\r\n\n", n: 3, err: ErrChunkTrailer},
	{name: "long extension", in: "5;a=" + strings.Repeat("x", MaxChunkLine), n: MaxChunkLine, err: ErrChunkLineTooLong},
}

func TestChunkedScanner(t *testing.T) {
	for _, tt := range chunkedTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.n
			if want < 0 {
				want = len(tt.in)
			}
			var s ChunkedScanner
			n, done, err := s.Scan([]byte(tt.in))
			if n != want || done != tt.done || err != tt.err {
				t.Fatalf("Scan(%q) = %d, %v, %v; want %d, %v, %v", tt.in, n, done, err, want, tt.done, tt.err)
			}
			if err != nil && !errors.Is(err, ErrMalformedChunk) {
				t.Errorf("%v does not wrap ErrMalformedChunk", err)
			}
			for k := 0; k <= len(tt.in); k++ {
				n, done, err := scanChunkedSplit([]byte(tt.in), k)
				if n != want || done != tt.done || err != tt.err {
					t.Fatalf("split at %d: got %d, %v, %v; want %d, %v, %v", k, n, done, err, want, tt.done, tt.err)
				}
			}
			if n, done, err := scanChunkedBytewise([]byte(tt.in)); n != want || done != tt.done || err != tt.err {
				t.Fatalf("byte by byte: got %d, %v, %v; want %d, %v, %v", n, done, err, want, tt.done, tt.err)
			}
		})
	}
}

// scanChunkedSplit scans in[:k] then in[k:] and adds up the bytes consumed.
func scanChunkedSplit(in []byte, k int) (int, bool, error) {
	var s ChunkedScanner
	n, done, err := s.Scan(in[:k])
	if done || err != nil {
		return n, done, err
	}
	m, done, err := s.Scan(in[k:])
	return n + m, done, err
}

func scanChunkedBytewise(in []byte) (int, bool, error) {
	var s ChunkedScanner
	total := 0
	for i := range in {
		n, done, err := s.Scan(in[i : i+1])
		total += n
		if done || err != nil {
			return total, done, err
		}
	}
	return total, false, nil
}

func TestChunkedScannerAfterEnd(t *testing.T) {
	var s ChunkedScanner
	s.Scan([]byte("0\r\n\r\n"))
	if n, done, err := s.Scan([]byte("more")); n != 0 || !done || err != nil {
		t.Errorf("Scan after end = %d, %v, %v; want 0, true, nil", n, done, err)
	}
	s.Reset()
	if n, done, err := s.Scan([]byte("x")); n != 0 || done || err != ErrChunkSize {
		t.Errorf("Scan after Reset = %d, %v, %v; want 0, false, %v", n, done, err, ErrChunkSize)
	}
	if _, _, err := s.Scan([]byte("0\r\n\r\n")); err != ErrChunkSize {
		t.Errorf("Scan after error = %v; want the same error again", err)
	}
}

// TestChunkedScannerNetHTTP scans what net/http's chunked writer produces.
func TestChunkedScannerNetHTTP(t *testing.T) {
	for _, size := range []int{0, 1, 100, 4096, 70000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var body bytes.Buffer
			w := httputil.NewChunkedWriter(&body)
			payload := bytes.Repeat([]byte("0\r\n"), size/3+1)[:size]
			for p := payload; len(p) > 0; {
				k := min(len(p), 1000)
				w.Write(p[:k])
				p = p[k:]
			}
			w.Close()
			body.WriteString("Trailer: x\r\n\r\n")
			in := body.Bytes()
			var s ChunkedScanner
			if n, done, err := s.Scan(in); n != len(in) || !done || err != nil {
				t.Fatalf("Scan = %d, %v, %v; want %d, true, nil", n, done, err, len(in))
			}
			got, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(in)))
			if err != nil || !bytes.Equal(got, payload) {
				t.Fatalf("net/http reads back %d bytes, %v; want %d", len(got), err, len(payload))
			}
		})
	}
}

func FuzzChunkedScanner(f *testing.F) {
	for _, tt := range chunkedTests {
		f.Add([]byte(tt.in), uint16(len(tt.in)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		var s ChunkedScanner
		n, done, err := s.Scan(in)
		if n < 0 || n > len(in) || n < len(in) && !done && err == nil {
			t.Fatalf("Scan = %d, %v, %v on %d bytes", n, done, err, len(in))
		}
		k := int(split) % (len(in) + 1)
		if n2, done2, err2 := scanChunkedSplit(in, k); n2 != n || done2 != done || err2 != err {
			t.Fatalf("split at %d: %d, %v, %v; whole: %d, %v, %v", k, n2, done2, err2, n, done, err)
		}
		if len(in) <= 1024 {
			if n2, done2, err2 := scanChunkedBytewise(in); n2 != n || done2 != done || err2 != err {
				t.Fatalf("byte by byte: %d, %v, %v; whole: %d, %v, %v", n2, done2, err2, n, done, err)
			}
		}
	})
}

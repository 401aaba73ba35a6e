package codec

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func proxyV2(cmd, fam byte, addrs []byte, extra int) []byte {
	b := append([]byte{}, proxyV2Sig...)
	b = append(b, 0x20|cmd, fam, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(len(addrs)+extra))
	b = append(b, addrs...)
	return append(b, make([]byte, extra)...)
}

var proxyTests = []struct {
	name     string
	in       string
	n        int
	src, dst string
	err      error
}{
	{"v1 tcp4", "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET /", 45, "192.0.2.1:56324", "198.51.100.2:443", nil},
	{"v1 tcp6", "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n", 40, "[2001:db8::1]:1", "[2001:db8::2]:2", nil},
	{"v1 unknown", "PROXY UNKNOWN\r\n", 15, "", "", nil},
	{"v1 short", "PROXY TCP4 1.2", 0, "", "", ErrShort},
	{"v1 prefix short", "PRO", 0, "", "", ErrShort},
	{"v1 family mismatch", "PROXY TCP4 2001:db8::1 2001:db8::2 1 2\r\n", 0, "", "", ErrBadProxyV1},
	{"v1 bad port", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n", 0, "", "", ErrBadProxyV1},
	{"v1 missing field", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 0, "", "", ErrBadProxyV1},
	{"v1 too long", "PROXY TCP4 " + string(make([]byte, 120)), 0, "", "", ErrBadProxyV1},
	{"not proxy", "GET / HTTP/1.1\r\n", 0, "", "", ErrNotProxy},
	{"v2 tcp4", string(proxyV2(1, 0x11, []byte{192, 0, 2, 1, 10, 0, 0, 1, 0x1f, 0x90, 0x01, 0xbb}, 3)), 31, "192.0.2.1:8080", "10.0.0.1:443", nil},
	{"v2 local", string(proxyV2(0, 0x00, nil, 0)), 16, "", "", nil},
	{"v2 short", string(proxyV2(1, 0x11, []byte{192, 0, 2, 1}, 0))[:15], 0, "", "", ErrShort},
	{"v2 bad version", "\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x00", 0, "", "", ErrBadProxyV2},
	{"v2 truncated addresses", string(proxyV2(1, 0x11, []byte{1, 2, 3}, 0)), 0, "", "", ErrBadProxyV2},
}

func TestParseProxyHeader(t *testing.T) {
	for _, tt := range proxyTests {
		t.Run(tt.name, func(t *testing.T) {
			n, src, dst, err := ParseProxyHeader([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v; want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if n != tt.n {
				t.Errorf("n = %d; want %d", n, tt.n)
			}
			var ws, wd netip.AddrPort
			if tt.src != "" {
				ws, wd = netip.MustParseAddrPort(tt.src), netip.MustParseAddrPort(tt.dst)
			}
			if src != ws || dst != wd {
				t.Errorf("src, dst = %v, %v; want %v, %v", src, dst, ws, wd)
			}
		})
	}
}

// TestParseProxyHeaderNoAlloc: v2 (binary) parses without allocating; v1
// goes through netip.ParseAddr and costs two small allocations per
// connection.
func TestParseProxyHeaderNoAlloc(t *testing.T) {
	in := proxyV2(1, 0x11, []byte{192, 0, 2, 1, 10, 0, 0, 1, 0x1f, 0x90, 0x01, 0xbb}, 0)
	if a := testing.AllocsPerRun(100, func() { ParseProxyHeader(in) }); a != 0 {
		t.Errorf("allocs = %v; want 0", a)
	}
}

func FuzzParseProxyHeader(f *testing.F) {
	for _, tt := range proxyTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, _, _, err := ParseProxyHeader(b)
		if err == nil && (n <= 0 || n > len(b)) {
			t.Fatalf("n = %d for %d bytes", n, len(b))
		}
		if err == nil {
			// The same header with more bytes behind it parses the same.
			m, _, _, err2 := ParseProxyHeader(append(b[:n:n], "tail"...))
			if err2 != nil || m != n {
				t.Fatalf("with a tail: n=%d err=%v; want n=%d", m, err2, n)
			}
		}
	})
}

package codec

import (
	"strings"
	"testing"
)

func TestValidValue(t *testing.T) {
	// Every byte value at every position of a value long enough to take
	// both the eight-byte and the single-byte paths.
	for c := 0; c < 256; c++ {
		want := c >= ' ' && c != 0x7f || c == '\t'
		for pos := 0; pos < 19; pos++ {
			v := []byte(strings.Repeat("v", 19))
			v[pos] = byte(c)
			if got := validValue(v); got != want {
				t.Fatalf("validValue with %#x at %d = %v; want %v", c, pos, got, want)
			}
		}
	}
}

func TestIsHopByHop(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{name: "Connection", want: true},
		{name: "keep-alive", want: true},
		{name: "PROXY-CONNECTION", want: true},
		{name: "Proxy-Authorization", want: true},
		{name: "te", want: true},
		{name: "Trailer", want: true},
		{name: "Transfer-Encoding", want: true},
		{name: "upgrade", want: true},
		{name: "Trailers"},
		{name: "Host"},
		{name: "Sec-WebSocket-Key"},
		{name: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsHopByHop([]byte(tt.name)); got != tt.want {
				t.Errorf("IsHopByHop(%q) = %v; want %v", tt.name, got, tt.want)
			}
		})
	}
}

func TestConnectionHas(t *testing.T) {
	tests := []struct {
		name  string
		value string
		token string
		want  bool
	}{
		{name: "only", value: "close", token: "close", want: true},
		{name: "case", value: "Keep-Alive, UPGRADE", token: "upgrade", want: true},
		{name: "empty elements", value: " , ,upgrade , ", token: "upgrade", want: true},
		{name: "absent", value: "keep-alive", token: "close"},
		{name: "substring", value: "closed", token: "close"},
		{name: "empty", value: "", token: "close"},
		{name: "after syntax error", value: "a/b, close", token: "close"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConnectionHas([]byte(tt.value), tt.token); got != tt.want {
				t.Errorf("ConnectionHas(%q, %q) = %v; want %v", tt.value, tt.token, got, tt.want)
			}
		})
	}
}

func TestEqualFold(t *testing.T) {
	tests := []struct {
		b, s string
		want bool
	}{
		{b: "Content-Length", s: "content-length", want: true},
		{b: "HOST", s: "host", want: true},
		{b: "host", s: "hosts"},
		{b: "@", s: "`"},      // 0x40 and 0x60 differ only in the case bit
		{b: "\u212a", s: "k"}, // Kelvin sign folds to k in Unicode, not here
	}
	for _, tt := range tests {
		t.Run(tt.b+"/"+tt.s, func(t *testing.T) {
			if got := EqualFold([]byte(tt.b), tt.s); got != tt.want {
				t.Errorf("EqualFold(%q, %q) = %v; want %v", tt.b, tt.s, got, tt.want)
			}
		})
	}
}

package tlstrim

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"testing"
	"unsafe"
)

// TestTLSTrimLayout fails when a Go release moves or retypes the tls.Conn
// fields this package needs: trimming would then turn itself off, and idle
// wss connections would quietly cost ~3.5 KB more each.
func TestTLSTrimLayout(t *testing.T) {
	if layout.err != nil {
		t.Fatalf("tls.Conn input buffers not found, trimming is off: %v", layout.err)
	}
}

// TestFindTLSInputFields: the guard accepts the expected layout only.
func TestFindTLSInputFields(t *testing.T) {
	type good struct {
		x        int
		rawInput bytes.Buffer
		input    bytes.Reader
		hand     bytes.Buffer
	}
	type inner struct{ hand bytes.Buffer }
	tests := []struct {
		name string
		typ  reflect.Type
		ok   bool
	}{
		{"tls.Conn", reflect.TypeFor[tls.Conn](), true},
		{"expected layout", reflect.TypeFor[good](), true},
		{"not a struct", reflect.TypeFor[int](), false},
		{"hand missing", reflect.TypeFor[struct {
			rawInput bytes.Buffer
			input    bytes.Reader
		}](), false},
		{"rawInput a slice", reflect.TypeFor[struct {
			rawInput []byte
			input    bytes.Reader
			hand     bytes.Buffer
		}](), false},
		{"input a pointer", reflect.TypeFor[struct {
			rawInput bytes.Buffer
			input    *bytes.Reader
			hand     bytes.Buffer
		}](), false},
		{"hand promoted", reflect.TypeFor[struct {
			rawInput bytes.Buffer
			input    bytes.Reader
			inner
		}](), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, in, hand, err := findInputFields(tt.typ)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v; want ok %v", err, tt.ok)
			}
			if tt.typ == reflect.TypeFor[good]() {
				var g good
				if raw != unsafe.Offsetof(g.rawInput) || in != unsafe.Offsetof(g.input) || hand != unsafe.Offsetof(g.hand) {
					t.Errorf("offsets %d, %d, %d; want %d, %d, %d", raw, in, hand,
						unsafe.Offsetof(g.rawInput), unsafe.Offsetof(g.input), unsafe.Offsetof(g.hand))
				}
			}
		})
	}
}

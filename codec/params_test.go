package codec

import (
	"bytes"
	"testing"
)

// paramTests drive both CookieValue (in, with ';') and QueryValue (the
// same input with '&' for ';' and no spaces).
var paramTests = []struct {
	name, cookie, query string
	key                 string
	want                string
	found               bool
}{
	{"first", "a=1; b=2", "a=1&b=2", "a", "1", true},
	{"second", "a=1; b=2", "a=1&b=2", "b", "2", true},
	{"absent", "a=1; b=2", "a=1&b=2", "c", "", false},
	{"empty value", "a=; b=2", "a=&b=2", "a", "", true},
	{"prefix of a name", "ab=1", "ab=1", "a", "", false},
	{"first wins", "a=1; a=2", "a=1&a=2", "a", "1", true},
	{"value with =", "a=x=y", "a=x=y", "a", "x=y", true},
	{"empty input", "", "", "a", "", false},
	{"case-sensitive", "A=1", "A=1", "a", "", false},
	{"trailing separator", "a=1;", "a=1&", "a", "1", true},
}

func TestCookieValue(t *testing.T) {
	for _, tt := range paramTests {
		t.Run(tt.name, func(t *testing.T) {
			got := CookieValue([]byte(tt.cookie), tt.key)
			if string(got) != tt.want || (got != nil) != tt.found {
				t.Errorf("CookieValue(%q, %q) = %q (found %v); want %q (found %v)", tt.cookie, tt.key, got, got != nil, tt.want, tt.found)
			}
		})
	}
	if got := CookieValue([]byte(" a = 1 ;\tb=2 "), "b"); string(got) != "2" {
		t.Errorf("CookieValue with white space: %q; want \"2\"", got)
	}
}

func TestQueryValue(t *testing.T) {
	for _, tt := range paramTests {
		t.Run(tt.name, func(t *testing.T) {
			got := QueryValue([]byte(tt.query), tt.key)
			if string(got) != tt.want || (got != nil) != tt.found {
				t.Errorf("QueryValue(%q, %q) = %q (found %v); want %q (found %v)", tt.query, tt.key, got, got != nil, tt.want, tt.found)
			}
		})
	}
	if got := QueryValue([]byte("EIO=4&sid"), "sid"); got == nil || len(got) != 0 {
		t.Errorf("QueryValue of a name without '=': %q (nil %v); want empty, not nil", got, got == nil)
	}
}

// FuzzParams: a value found is a slice of the input that follows the name
// and '=' (or, in a query, the bare name), and the input is not changed.
func FuzzParams(f *testing.F) {
	for _, tt := range paramTests {
		f.Add([]byte(tt.cookie), tt.key)
		f.Add([]byte(tt.query), tt.key)
	}
	f.Fuzz(func(t *testing.T, in []byte, name string) {
		orig := bytes.Clone(in)
		check := func(fn string, got []byte, bare bool) {
			if got == nil {
				return
			}
			i := subsliceAt(in, got)
			if i < 0 {
				t.Fatalf("%s(%q, %q) = %q: not a slice of the input", fn, in, name, got)
			}
			switch {
			case i >= len(name)+1 && in[i-1] == '=' && string(in[i-1-len(name):i-1]) == name:
			case bare && len(got) == 0 && i >= len(name) && string(in[i-len(name):i]) == name:
			default:
				t.Fatalf("%s(%q, %q) = %q at %d: not after name=", fn, in, name, got, i)
			}
		}
		check("CookieValue", CookieValue(in, name), false)
		check("QueryValue", QueryValue(in, name), true)
		if !bytes.Equal(in, orig) {
			t.Fatalf("input changed: %q; was %q", in, orig)
		}
	})
}

// subsliceAt returns where sub starts within b, or -1 when it is not a
// slice of b's array within b.
func subsliceAt(b, sub []byte) int {
	if cap(b) == 0 {
		return -1
	}
	full := b[:cap(b)]
	for i := 0; i <= len(b); i++ {
		if i+len(sub) <= len(b) && cap(full[i:]) == cap(sub) {
			return i
		}
	}
	return -1
}

package core

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestEmptied: which plain reads leave the socket with nothing the kernel
// would report again unasked, so that the loop may wait without a look
// (reactor.Loop.Drained). A short read empties the receive queue; a full
// one may leave bytes; an end of stream or an error is seen again.
func TestEmptied(t *testing.T) {
	l := &Loop{}
	l.Buf = make([]byte, 64)
	e := &endpoint{}
	for _, tc := range []struct {
		name string
		n    int
		max  int
		err  error
		want bool
	}{
		{"EAGAIN", 0, 0, unix.EAGAIN, true},
		{"short of the buffer", 10, 0, nil, true},
		{"the whole buffer", 64, 0, nil, false},
		{"short of max", 10, 20, nil, true},
		{"max, under the buffer", 20, 20, nil, false},
		{"max beyond the buffer: the buffer counts", 64, 100, nil, false},
		{"max of zero or less: the buffer", 63, -5, nil, true},
		{"end of stream", 0, 0, nil, false},
		{"an error", 0, 0, unix.ECONNRESET, false},
		{"an error after bytes", 10, 0, errors.New("x"), false},
	} {
		if got := e.emptied(l, tc.n, tc.max, tc.err); got != tc.want {
			t.Errorf("%s: emptied(n=%d, max=%d, %v) = %v, want %v", tc.name, tc.n, tc.max, tc.err, got, tc.want)
		}
	}
}

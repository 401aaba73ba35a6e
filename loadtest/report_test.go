package loadtest

import (
	"errors"
	"testing"
)

func TestCheckFailures(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		conns, failed, dropped int
		allow                  float64
		want                   bool // an error
	}{
		{"all up", 100, 0, 0, 0, false},
		{"every connection failed", 100, 100, 0, 0, true},
		{"one failed, none allowed", 100, 1, 0, 0, true},
		{"one dropped, none allowed", 100, 0, 1, 0, true},
		{"one of 100 within 0.01", 100, 1, 0, 0.01, false},
		{"one failed and one dropped over 0.01", 100, 1, 1, 0.01, true},
		{"all failed, all allowed", 10, 10, 0, 1, false},
		{"nothing dialled (canceled)", 100, 0, 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{Conns: tc.conns, Up: tc.conns - tc.failed, Failed: tc.failed, Dropped: tc.dropped}
			err := r.CheckFailures(tc.allow)
			if got := err != nil; got != tc.want {
				t.Fatalf("got %v; want an error: %v", err, tc.want)
			}
			if err != nil && !errors.Is(err, ErrFailures) {
				t.Errorf("got %v; want it to wrap ErrFailures", err)
			}
		})
	}
}

package loadtest

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckFailures(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		conns, failed, dropped int
		reUp, reFailed         int // Reconnect workload's reconnections
		allow                  float64
		want                   bool // an error
	}{
		{"all up", 100, 0, 0, 0, 0, 0, false},
		{"every connection failed", 100, 100, 0, 0, 0, 0, true},
		{"one failed, none allowed", 100, 1, 0, 0, 0, 0, true},
		{"one dropped, none allowed", 100, 0, 1, 0, 0, 0, true},
		{"one of 100 within 0.01", 100, 1, 0, 0, 0, 0.01, false},
		{"one failed and one dropped over 0.01", 100, 1, 1, 0, 0, 0.01, true},
		{"all failed, all allowed", 10, 10, 0, 0, 0, 1, false},
		{"nothing dialled (canceled)", 100, 0, 0, 0, 0, 0, false},
		{"reconnections all up", 10, 0, 0, 50, 0, 0, false},
		{"one reconnection failed, none allowed", 10, 0, 0, 49, 1, 0, true},
		// 2 bad of 10 + 49 + 1 = 60 connections: within 0.05 (3), not 0.03 (1.8).
		{"first and reconnection failed within 0.05", 10, 1, 0, 49, 1, 0.05, false},
		{"first and reconnection failed over 0.03", 10, 1, 0, 49, 1, 0.03, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Result{Conns: tc.conns, Up: tc.conns - tc.failed, Failed: tc.failed, Dropped: tc.dropped,
				Reconnected: tc.reUp, ReconnectFailed: tc.reFailed}
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

// TestWriteTextReconnect: the Reconnect workload's text report gives the
// reconnections and how many resumed instead of the message rate.
func TestWriteTextReconnect(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Result
		want []string
		not  string
	}{
		{"reconnect",
			Result{Conns: 10, Up: 10, Reconnected: 40, ReconnectFailed: 10, Resumed: 30, Elapsed: 1500 * time.Millisecond,
				Reconnect: Latency{Count: 40, P50: time.Millisecond}},
			[]string{"reconnects   40 up, 10 failed (of 50; 1.5s); 30 resumed their TLS session (75.0% of those up)", "reconnect"},
			"messages"},
		{"echo",
			Result{Conns: 10, Up: 10, Messages: 100, Elapsed: time.Second, MsgsPerSec: 100},
			[]string{"messages     100 in 1s: 100/s"},
			"reconnects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("got\n%s\nwant a line with %q", b.String(), w)
				}
			}
			if strings.Contains(b.String(), tc.not) {
				t.Errorf("got\n%s\nwant no %q", b.String(), tc.not)
			}
		})
	}
}

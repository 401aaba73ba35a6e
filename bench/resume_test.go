package bench

import (
	"slices"
	"testing"
	"time"

	"wsproxy/loadtest"
)

// TestResumeRow: the resume table's row: reconnections up of those asked,
// how many resumed and their share, rates per phase, CPU per phase and
// per connection, and reconnect ÷ full; "—" where nothing was measured.
func TestResumeRow(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		t    Trial
		want []string
	}{
		{"half resumed",
			Trial{Proxy: Wsproxy, Conns: 1000, Up: 1000, Handshake: loadtest.Latency{P50: 150 * ms}, OthersCPU: 3 * time.Second,
				ProxyCPU: 6 * time.Second, Resume: &ResumeResult{
					Asked: 5000, Reconnected: 5000, Resumed: 2516, Reconnect: loadtest.Latency{P50: 92 * ms},
					FullCPU: 880 * ms, ReconnectCPU: 3390 * ms, CPUPerFull: 880 * time.Microsecond, CPUPerReconnect: 678 * time.Microsecond,
					FullTime: 2 * time.Second, ReconnectTime: 5 * time.Second}},
			[]string{"wsproxy", "1000/1000", "5000/5000", "2516 (50%)", "150 ms", "92.0 ms", "500 / 1000",
				"880 ms / 3.39 s", "880 µs", "678 µs", "—", "0.77", "67%"}},
		{"no reconnection up",
			Trial{Proxy: Nginx, Conns: 10, Up: 10, Resume: &ResumeResult{Asked: 50, CPUPerFull: time.Millisecond, FullTime: time.Second}},
			[]string{"nginx", "10/10", "0/50", "—", "0", "0", "10 / —", "0 / 0", "1.00 ms", "0", "—", "—", "—"}},
		{"no result (failed before)",
			Trial{Proxy: HAProxy, Conns: 10},
			[]string{"haproxy", "0/10", "0/0", "—", "0", "0", "— / —", "0 / 0", "0", "0", "—", "—", "—"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := resumeRow(tc.t, "—")
			if !slices.Equal(got, tc.want) {
				t.Errorf("got  %q;\nwant %q", got, tc.want)
			}
			if len(got) != len(columns[Resume]) {
				t.Errorf("got %d cells; want %d, one per column", len(got), len(columns[Resume]))
			}
		})
	}
}

package core

import (
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/gobwas/ws"

	"wsproxy/core/metrics"
	"wsproxy/internal/dnsup"
)

// TestSampleTunnel: log.sample keeps exactly that fraction of tunnels on
// a loop, evenly spread.
func TestSampleTunnel(t *testing.T) {
	tests := []struct {
		rate float64
		want string // per tunnel: x logged, . not
	}{
		{1, "xxxxxxxx"},
		{0, "........"},
		{0.5, ".x.x.x.x"},
		{0.25, "...x...x"},
		{0.75, ".xxx.xxx"},
	}
	for _, tc := range tests {
		s := &Server{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		l := &Loop{}
		var got []byte
		for range len(tc.want) {
			if s.sampleTunnel(l, tc.rate) {
				got = append(got, 'x')
			} else {
				got = append(got, '.')
			}
		}
		if string(got) != tc.want {
			t.Errorf("sample %v: got %s; want %s", tc.rate, got, tc.want)
		}
	}
}

// BenchmarkRelayHooks is what the relay pays per frame for metrics: a
// message and its bytes counted on the connection and the loop.
func BenchmarkRelayHooks(b *testing.B) {
	l := &Loop{obs: &metrics.Loop{}}
	c := &conn{cl: endpoint{l: l}}
	h := ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 100}
	b.ReportAllocs()
	for b.Loop() {
		c.noteFrame(0, h)
		c.noteBytes(0, 102)
	}
}

// TestDNSResults: the result labels the admin listener exports
// (metrics.DNSResults) are dnsup's Results, in their order.
func TestDNSResults(t *testing.T) {
	if got, want := metrics.DNSResults[:], dnsup.ResultNames[:]; !slices.Equal(got, want) {
		t.Errorf("metrics.DNSResults = %q; want dnsup.ResultNames %q", got, want)
	}
}

package wspolicy_test

import (
	"reflect"
	"testing"
	"time"

	"wsproxy/config"
	"wsproxy/internal/handover"
	"wsproxy/internal/wspolicy"
)

// TestNew: what a route's websocket section compiles to, and that the
// policy a tunnel carries to another process comes back the same, but
// for the origins, which an established tunnel does not use.
func TestNew(t *testing.T) {
	off := false
	tests := []struct {
		name string
		w    *config.WebSocket
		want wspolicy.Policy
	}{
		{name: "none", want: wspolicy.Policy{Check: true, Splice: true}},
		{name: "empty", w: &config.WebSocket{}, want: wspolicy.Policy{Check: true, Splice: true}},
		{name: "limits and idle", w: &config.WebSocket{MaxFrame: 10, MaxMessage: 100, Idle: config.Duration(time.Minute), CheckFrames: &off, Splice: &off},
			want: wspolicy.Policy{MaxFrame: 10, MaxMessage: 100, Idle: time.Minute}},
		{name: "origins", w: &config.WebSocket{Origins: []string{"https://a.example"}},
			want: wspolicy.Policy{Check: true, Splice: true, Origins: []string{"https://a.example"}}},
		{name: "ping client", w: &config.WebSocket{Ping: &config.Ping{Interval: config.Duration(time.Second), Timeout: config.Duration(2 * time.Second), Peers: "client"}},
			want: wspolicy.Policy{Check: true, Splice: true, Ping: &wspolicy.Ping{Interval: time.Second, Timeout: 2 * time.Second, Peers: [2]bool{true, false}}}},
		{name: "ping upstream", w: &config.WebSocket{Ping: &config.Ping{Interval: config.Duration(time.Second), Timeout: config.Duration(time.Second), Peers: "upstream"}},
			want: wspolicy.Policy{Check: true, Splice: true, Ping: &wspolicy.Ping{Interval: time.Second, Timeout: time.Second, Peers: [2]bool{false, true}}}},
		{name: "ping both", w: &config.WebSocket{Ping: &config.Ping{Interval: config.Duration(time.Second), Timeout: config.Duration(time.Second), Peers: "both"}},
			want: wspolicy.Policy{Check: true, Splice: true, Ping: &wspolicy.Ping{Interval: time.Second, Timeout: time.Second, Peers: [2]bool{true, true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wspolicy.New(tt.w)
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("New: %+v; want %+v", *got, tt.want)
			}
			hp := got.Handover()
			back := wspolicy.FromHandover(&hp)
			want := tt.want
			want.Origins = nil
			if !reflect.DeepEqual(*back, want) {
				t.Errorf("FromHandover(Handover()): %+v; want %+v", *back, want)
			}
		})
	}
}

// TestFromHandover: a state from another process with pings on but no
// interval or timeout pings at least every millisecond rather than spin.
func TestFromHandover(t *testing.T) {
	tests := []struct {
		name string
		hp   handover.Policy
		want *wspolicy.Ping
	}{
		{name: "no pings", hp: handover.Policy{PingInterval: time.Second}},
		{name: "zero times", hp: handover.Policy{PingPeers: 2}, want: &wspolicy.Ping{Interval: time.Millisecond, Timeout: time.Millisecond, Peers: [2]bool{false, true}}},
		{name: "times kept", hp: handover.Policy{PingPeers: 1, PingInterval: time.Minute, PingTimeout: time.Second},
			want: &wspolicy.Ping{Interval: time.Minute, Timeout: time.Second, Peers: [2]bool{true, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wspolicy.FromHandover(&tt.hp).Ping; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Ping: %+v; want %+v", got, tt.want)
			}
		})
	}
}

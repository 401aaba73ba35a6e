package config_test

import (
	"strings"
	"testing"
	"time"

	"wsproxy/config"
)

// TestWebSocketSection: a route's websocket section, its defaults after
// Parse, and every error it can produce, each naming file, line and field.
func TestWebSocketSection(t *testing.T) {
	on, off := true, false
	tests := []struct {
		name string
		ws   []string // lines under "    websocket:", indented by the test
		want *config.WebSocket
		errs []string
	}{
		{"empty section: defaults", []string{"{}"}, &config.WebSocket{}, nil},
		{"everything set", []string{
			"max_message: 1048576",
			"max_frame: 65536",
			"check_frames: false",
			"idle: 5m",
			"splice: false",
			"ping: {interval: 20s, timeout: 5s, peers: both}",
			`origins: ["https://app.example.com", "*.example.com"]`,
		}, &config.WebSocket{
			MaxMessage: 1 << 20, MaxFrame: 64 << 10, CheckFrames: &off, Idle: config.Duration(5 * time.Minute),
			Splice: &off, Ping: &config.Ping{Interval: config.Duration(20 * time.Second), Timeout: config.Duration(5 * time.Second), Peers: "both"},
			Origins: []string{"https://app.example.com", "*.example.com"},
		}, nil},
		{"ping defaults", []string{"ping: {}", "splice: true", "check_frames: true"}, &config.WebSocket{
			CheckFrames: &on, Splice: &on,
			Ping: &config.Ping{Interval: config.Duration(config.DefaultPingInterval), Timeout: config.Duration(config.DefaultPingTimeout), Peers: "client"},
		}, nil},
		{"splice not a boolean", []string{"splice: maybe"}, nil,
			[]string{`x.yaml:9: routes[0].websocket.splice: expected true or false, got "maybe"`}},
		{"negative sizes and idle", []string{"max_message: -1", "max_frame: -2", "idle: -1s"}, nil, []string{
			`routes[0].websocket.max_message: must not be negative`,
			`routes[0].websocket.max_frame: must not be negative`,
			`routes[0].websocket.idle: must not be negative`}},
		{"bad ping", []string{"ping: {interval: -1s, peers: everyone}"}, nil, []string{
			`routes[0].websocket.ping: interval and timeout must be positive`,
			`routes[0].websocket.ping.peers: want client, upstream or both, got "everyone"`}},
		{"bad origins", []string{`origins: ["", "app example com"]`}, nil, []string{
			`routes[0].websocket.origins: entry 0: "" is not an origin`,
			`routes[0].websocket.origins: entry 1: "app example com" is not an origin`}},
		{"unknown key", []string{"max_msg: 10"}, nil,
			[]string{`x.yaml:9: routes[0].websocket.max_msg: unknown field (did you mean max_message?)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := []string{"  - path: /", "    upstream: webpush", "    websocket:"}
			if len(tt.ws) == 1 && strings.HasPrefix(tt.ws[0], "{") {
				lines[2] += " " + tt.ws[0]
			} else {
				for _, l := range tt.ws {
					lines = append(lines, "      "+l)
				}
			}
			c, err := config.Parse("x.yaml", []byte(head(lines...)))
			if tt.errs != nil {
				got := errString(err)
				for _, want := range tt.errs {
					if !strings.Contains(got, want) {
						t.Errorf("error %q lacks %q", got, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "WebSocket", c.Routes[0].WebSocket, tt.want)
		})
	}
}

package config_test

import (
	"strings"
	"testing"

	"wsproxy/config"
)

// obsHead is a valid listener and route; the case's lines start on line 3.
func obsHead(lines ...string) string {
	return y(append([]string{`listen: [{addr: "127.0.0.1:8080"}]`, `routes: [{upstream: "127.0.0.1:10081"}]`}, lines...)...)
}

func TestObservability(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		admin    *config.Admin // want; nil: no admin listener
		loopback bool
		log      config.Log // want, Sample compared by value
		sample   float64
	}{
		{"defaults", obsHead(), nil, false,
			config.Log{Format: "text", Level: "info"}, 1},
		{"admin defaults", obsHead("admin: {}"), &config.Admin{Addr: "127.0.0.1:9100"}, true,
			config.Log{Format: "text", Level: "info"}, 1},
		{"admin set", obsHead(`admin: {addr: "[::1]:0", pprof: true}`), &config.Admin{Addr: "[::1]:0", Pprof: true}, true,
			config.Log{Format: "text", Level: "info"}, 1},
		{"admin on all interfaces", obsHead(`admin: {addr: ":9100"}`), &config.Admin{Addr: ":9100"}, false,
			config.Log{Format: "text", Level: "info"}, 1},
		{"log set", obsHead("log: {format: json, level: WARN, sample: 0.25}"), nil, false,
			config.Log{Format: "json", Level: "warn"}, 0.25},
		{"sample integer", obsHead("log: {sample: 0}"), nil, false,
			config.Log{Format: "text", Level: "info"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("x.yaml", []byte(tc.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			eq(t, "Admin", c.Admin, tc.admin)
			if c.Admin != nil {
				eq(t, "Admin.Loopback()", c.Admin.Loopback(), tc.loopback)
			}
			if c.Log.Sample == nil {
				t.Fatalf("Log.Sample = nil; want %v", tc.sample)
			}
			eq(t, "Log.Sample", *c.Log.Sample, tc.sample)
			got := c.Log
			got.Sample = nil
			eq(t, "Log", got, tc.log)
			if err := c.Validate(); err != nil {
				t.Errorf("second Validate: %v", err)
			}
		})
	}
}

func TestObservabilityErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"admin addr", obsHead(`admin: {addr: "localhost:9100"}`),
			[]string{`x.yaml:3: admin.addr: host "localhost" in "localhost:9100" must be an IP address`}},
		{"admin on a listener", obsHead(`admin: {addr: "127.0.0.1:8080"}`),
			[]string{`x.yaml:3: admin.addr: "127.0.0.1:8080" is also listen[0].addr`}},
		{"admin kinds", obsHead("admin:", "  pprof: on"),
			[]string{`x.yaml:4: admin.pprof: expected true or false, got "on"`}},
		{"log values", obsHead("log:", "  format: logfmt", "  level: verbose", "  sample: 1.5"), []string{
			`x.yaml:4: log.format: want text or json, got "logfmt"`,
			`x.yaml:5: log.level: want debug, info, warn or error, got "verbose"`,
			`x.yaml:6: log.sample: must be between 0 and 1 (the fraction of connections logged), got 1.5`}},
		{"log format hint", obsHead("log: {format: jsn}"),
			[]string{`x.yaml:3: log.format: want text or json, got "jsn" (did you mean json?)`}},
		{"sample not a number", obsHead("log: {sample: half}"),
			[]string{`x.yaml:3: log.sample: expected a number, got "half"`}},
		{"negative sample", obsHead("log: {sample: -0.1}"),
			[]string{`x.yaml:3: log.sample: must be between 0 and 1`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("x.yaml", []byte(tc.in))
			got := strings.Split(errString(err), "\n")
			if len(got) != len(tc.want) {
				t.Errorf("got %d errors; want %d:\n%s", len(got), len(tc.want), errString(err))
			}
			for i := range min(len(got), len(tc.want)) {
				if !strings.Contains(got[i], tc.want[i]) {
					t.Errorf("error %d:\n got  %s\n want %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

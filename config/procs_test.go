package config_test

import (
	"strings"
	"testing"

	"wsproxy/config"
)

// TestProcs: procs defaults to adaptive, takes adaptive or all, and any
// other value is an error naming the line and the field.
func TestProcs(t *testing.T) {
	const base = "listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: \"127.0.0.1:1\"}]\n"
	for _, tc := range []struct {
		extra string
		want  string
	}{
		{"", config.ProcsAdaptive},
		{"procs: adaptive\n", config.ProcsAdaptive},
		{"procs: all\n", config.ProcsAll},
	} {
		c, err := config.Parse("x.yaml", []byte(base+tc.extra))
		if err != nil {
			t.Fatalf("%q: %v", tc.extra, err)
		}
		if c.Procs != tc.want {
			t.Errorf("%q: Procs = %q, want %q", tc.extra, c.Procs, tc.want)
		}
	}
	if q := config.Quick("127.0.0.1:0", "127.0.0.1:1"); q.Procs != config.ProcsAdaptive {
		t.Errorf("Quick: Procs = %q, want adaptive", q.Procs)
	}
	_, err := config.Parse("x.yaml", []byte(base+"procs: alll\n"))
	want := `x.yaml:3: procs: want adaptive or all, got "alll"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad value: err = %v, want it to contain %s", err, want)
	}
}

// TestCPUAffinity: cpu_affinity defaults to off, takes off or auto, and
// any other value is an error naming the line and the field.
func TestCPUAffinity(t *testing.T) {
	const base = "listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: \"127.0.0.1:1\"}]\n"
	for _, tc := range []struct {
		extra string
		want  string
	}{
		{"", config.AffinityOff},
		{"cpu_affinity: off\n", config.AffinityOff},
		{"cpu_affinity: auto\n", config.AffinityAuto},
	} {
		c, err := config.Parse("x.yaml", []byte(base+tc.extra))
		if err != nil {
			t.Fatalf("%q: %v", tc.extra, err)
		}
		if c.CPUAffinity != tc.want {
			t.Errorf("%q: CPUAffinity = %q, want %q", tc.extra, c.CPUAffinity, tc.want)
		}
	}
	if q := config.Quick("127.0.0.1:0", "127.0.0.1:1"); q.CPUAffinity != config.AffinityOff {
		t.Errorf("Quick: CPUAffinity = %q, want off", q.CPUAffinity)
	}
	_, err := config.Parse("x.yaml", []byte(base+"cpu_affinity: on\n"))
	want := `x.yaml:3: cpu_affinity: want off or auto, got "on"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("bad value: err = %v, want it to contain %s", err, want)
	}
}

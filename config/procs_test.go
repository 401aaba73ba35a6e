package config_test

import (
	"strings"
	"testing"

	"wsproxy/config"
)

// TestProcsAndAffinity: procs defaults to adaptive and takes adaptive or
// all; cpu_affinity defaults to off and takes off or auto; any other value
// of either is an error naming the line and the field.
func TestProcsAndAffinity(t *testing.T) {
	const base = "listen: [{addr: \"127.0.0.1:0\"}]\nroutes: [{path: /, upstream: \"127.0.0.1:1\"}]\n"
	for _, f := range []struct {
		key    string
		get    func(*config.Config) string
		def    string
		values []string
		bad    string
	}{
		{"procs", func(c *config.Config) string { return c.Procs }, config.ProcsAdaptive,
			[]string{config.ProcsAdaptive, config.ProcsAll}, `x.yaml:3: procs: want adaptive or all, got "alll"`},
		{"cpu_affinity", func(c *config.Config) string { return c.CPUAffinity }, config.AffinityOff,
			[]string{config.AffinityOff, config.AffinityAuto}, `x.yaml:3: cpu_affinity: want off or auto, got "alll"`},
	} {
		cases := map[string]string{"": f.def}
		for _, v := range f.values {
			cases[f.key+": "+v+"\n"] = v
		}
		for extra, want := range cases {
			c, err := config.Parse("x.yaml", []byte(base+extra))
			if err != nil {
				t.Fatalf("%q: %v", extra, err)
			}
			if got := f.get(c); got != want {
				t.Errorf("%q: %s = %q, want %q", extra, f.key, got, want)
			}
		}
		if got := f.get(config.Quick("127.0.0.1:0", "127.0.0.1:1")); got != f.def {
			t.Errorf("Quick: %s = %q, want %q", f.key, got, f.def)
		}
		_, err := config.Parse("x.yaml", []byte(base+f.key+": alll\n"))
		if err == nil || !strings.Contains(err.Error(), f.bad) {
			t.Errorf("bad %s: err = %v, want it to contain %s", f.key, err, f.bad)
		}
	}
}

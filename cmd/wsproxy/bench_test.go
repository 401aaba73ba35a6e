package main

import (
	"flag"
	"io"
	"slices"
	"testing"

	"wsproxy/bench"
)

// TestBenchTLSFlag: -tls alone keeps the default key (ECDSA), -tls rsa and
// -tls=ecdsa choose one, and the flags after it are still parsed.
func TestBenchTLSFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		tls     bool
		key     string
		conns   int
		rest    []string
		wantErr bool
	}{
		{"off", []string{"-conns", "7"}, false, "", 7, nil, false},
		{"alone", []string{"-tls", "-conns", "7"}, true, "", 7, nil, false},
		{"alone at the end", []string{"-conns", "7", "-tls"}, true, "", 7, nil, false},
		{"rsa", []string{"-tls", "rsa", "-conns", "7"}, true, bench.KeyRSA, 7, nil, false},
		{"ecdsa with =", []string{"-tls=ecdsa", "-conns", "7"}, true, bench.KeyECDSA, 7, nil, false},
		{"double dash", []string{"--tls", "rsa"}, true, bench.KeyRSA, 0, nil, false},
		{"false", []string{"-tls=false"}, false, "", 0, nil, false},
		{"unknown key", []string{"-tls=dsa"}, false, "", 0, nil, true},
		{"not a key: an argument", []string{"-tls", "extra"}, true, "", 0, []string{"extra"}, false},
		{"after --", []string{"--", "-tls", "rsa"}, false, "", 0, []string{"-tls", "rsa"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c bench.Config
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.IntVar(&c.Conns, "conns", 0, "")
			fs.Var(tlsFlag{&c}, "tls", "")
			err := fs.Parse(tlsKeyArgs(tc.args))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Parse(%q): got error %v; want error %v", tc.args, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if c.TLS != tc.tls || c.TLSKey != tc.key || c.Conns != tc.conns {
				t.Errorf("Parse(%q): got TLS %v, key %q, conns %d; want %v, %q, %d", tc.args, c.TLS, c.TLSKey, c.Conns, tc.tls, tc.key, tc.conns)
			}
			if !slices.Equal(fs.Args(), tc.rest) {
				t.Errorf("Parse(%q): got arguments %q; want %q", tc.args, fs.Args(), tc.rest)
			}
		})
	}
}

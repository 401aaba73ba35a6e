package main

import (
	"bytes"
	"runtime"
	"testing"
)

// TestPrintVersion: "wsproxy version" names the build, the Go release and
// the crypto backend.
func TestPrintVersion(t *testing.T) {
	var b bytes.Buffer
	printVersion(&b)
	if want := "wsproxy " + version + " " + runtime.Version() + " crypto=" + cryptoBackend() + " rsa=" + rsaSigner() + "\n"; b.String() != want {
		t.Errorf("got %q; want %q", b.String(), want)
	}
}

//go:build !goexperiment.boringcrypto

package main

import "testing"

// TestCryptoBackend: a default build says it uses Go's cryptography.
func TestCryptoBackend(t *testing.T) {
	if got := cryptoBackend(); got != "go" {
		t.Errorf("cryptoBackend() = %q; want go", got)
	}
}

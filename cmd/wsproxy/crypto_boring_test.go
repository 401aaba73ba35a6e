//go:build goexperiment.boringcrypto

package main

import "testing"

// TestCryptoBackend: a GOEXPERIMENT=boringcrypto build says so.
func TestCryptoBackend(t *testing.T) {
	if got := cryptoBackend(); got != "boringcrypto" {
		t.Errorf("cryptoBackend() = %q; want boringcrypto", got)
	}
}

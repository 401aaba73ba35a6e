//go:build goexperiment.boringcrypto

package main

import "crypto/boring"

// cryptoBackend names the implementation of the TLS handshake's and
// records' cryptography: with GOEXPERIMENT=boringcrypto (and cgo),
// "boringcrypto" when Go's crypto packages call BoringSSL's FIPS module
// (RSA, ECDSA, ECDH on NIST curves, AES-GCM, SHA-2, HMAC); X25519 and
// ML-KEM stay Go's. "go" if the module is not in use.
func cryptoBackend() string {
	if boring.Enabled() {
		return "boringcrypto"
	}
	return "go"
}

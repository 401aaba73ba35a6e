//go:build (!openssl || !cgo) && !goexperiment.boringcrypto

package certs

import (
	"crypto"
	"crypto/fips140"
	"crypto/rsa"

	"wsproxy/internal/fastrsa"
)

// RSASigner names what signs with RSA keys: "ifma", internal/fastrsa's
// AVX-512 IFMA code, on a CPU that has it (RSA-2048 keys; others and every
// other CPU: crypto/rsa); "go", crypto/rsa, where it does not or in FIPS
// 140 mode (GODEBUG=fips140=on keeps every signature in Go's module).
// -tags openssl with cgo makes it OpenSSL's (rsa_openssl.go);
// GOEXPERIMENT=boringcrypto keeps "go", which BoringSSL then serves.
var RSASigner = func() string {
	if fastrsa.Supported() && !fips140.Enabled() {
		return "ifma"
	}
	return "go"
}()

// fastSigner returns an IFMA signer for an RSA-2048 key when RSASigner is
// "ifma", else key: crypto/rsa signs.
func fastSigner(key crypto.PrivateKey) crypto.PrivateKey {
	if k, ok := key.(*rsa.PrivateKey); ok && RSASigner == "ifma" {
		if f := fastrsa.New(k); f != nil {
			return f
		}
	}
	return key
}

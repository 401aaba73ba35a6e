//go:build (!openssl || !cgo) && goexperiment.boringcrypto

package certs

import "crypto"

// RSASigner names what signs with RSA keys: "go", crypto/rsa, which
// BoringSSL serves in a GOEXPERIMENT=boringcrypto build (kept there: a
// build for BoringCrypto is made for its validated module).
var RSASigner = "go"

// fastSigner returns key: crypto/rsa signs.
func fastSigner(key crypto.PrivateKey) crypto.PrivateKey { return key }

//go:build !openssl || !cgo

package certs

import "crypto"

// RSASigner names what signs with RSA keys: "go", crypto/rsa (the default
// build; -tags openssl with cgo makes it OpenSSL's, rsa_openssl.go).
const RSASigner = "go"

// fastSigner returns key: Go's crypto signs.
func fastSigner(key crypto.PrivateKey) crypto.PrivateKey { return key }

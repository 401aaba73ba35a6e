//go:build !goexperiment.boringcrypto

package main

// cryptoBackend names the implementation of the TLS handshake's and
// records' cryptography this binary was built with: "go", Go's own
// (the default build); a build with GOEXPERIMENT=boringcrypto says
// "boringcrypto" (crypto_boring.go; DEVELOPERS.md, "BoringCrypto").
func cryptoBackend() string { return "go" }

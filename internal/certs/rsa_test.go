package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// writeRSAPair writes a self-signed RSA-2048 certificate for "rsa.test"
// and its PKCS #1 key into dir.
func writeRSAPair(t testing.TB, dir string) (certFile, keyFile string, leaf *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rsa.test"}, DNSNames: []string{"rsa.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if leaf, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "rsa.crt"), filepath.Join(dir, "rsa.key")
	for f, b := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile:  {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)},
	} {
		if err := os.WriteFile(f, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, leaf
}

// TestRSASigner: a loaded RSA key signs what TLS asks for (PSS with the
// digest's length of salt, PKCS #1 v1.5, SHA-1 to SHA-512) and what it
// does not (PSS with the longest salt) verifiably, with Go's crypto/rsa
// (RSASigner "go"), internal/fastrsa's ("ifma", a CPU with AVX-512 IFMA)
// or OpenSSL's (-tags openssl: "openssl"), and TLS 1.2
// and 1.3 handshakes with it succeed.
func TestRSASigner(t *testing.T) {
	certFile, keyFile, leaf := writeRSAPair(t, t.TempDir())
	cert, err := Load(certFile, keyFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, isGo := cert.PrivateKey.(*rsa.PrivateKey); isGo != (RSASigner == "go") {
		t.Fatalf("RSASigner %q but the key is a %T", RSASigner, cert.PrivateKey)
	}
	pub := leaf.PublicKey.(*rsa.PublicKey)
	signer := cert.PrivateKey.(crypto.Signer)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		d := h.New()
		d.Write([]byte("wsproxy"))
		digest := d.Sum(nil)
		for _, opts := range []crypto.SignerOpts{
			h, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: h}, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h},
		} {
			sig, err := signer.Sign(rand.Reader, digest, opts)
			if err != nil {
				t.Fatalf("%v %T: %v", h, opts, err)
			}
			if pss, ok := opts.(*rsa.PSSOptions); ok {
				err = rsa.VerifyPSS(pub, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
				if err == nil && pss.SaltLength == rsa.PSSSaltLengthEqualsHash {
					err = rsa.VerifyPSS(pub, h, digest, sig, pss)
				}
			} else {
				err = rsa.VerifyPKCS1v15(pub, h, digest, sig)
			}
			if err != nil {
				t.Errorf("%v %#v: signature does not verify: %v", h, opts, err)
			}
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, s := net.Pipe()
		srv := tls.Server(s, &tls.Config{Certificates: []tls.Certificate{*cert}, MaxVersion: v})
		done := make(chan error, 1)
		go func() { done <- srv.Handshake(); s.Close() }()
		cl := tls.Client(c, &tls.Config{ServerName: "rsa.test", RootCAs: roots})
		err := cl.Handshake()
		c.Close()
		if serr := <-done; err != nil || serr != nil {
			t.Errorf("%s: client %v, server %v", tls.VersionName(v), err, serr)
		}
	}
}

// TestRSASignerConcurrent: handshakes share a certificate's key; its
// signatures from several goroutines at once all verify.
func TestRSASignerConcurrent(t *testing.T) {
	certFile, keyFile, leaf := writeRSAPair(t, t.TempDir())
	cert, err := Load(certFile, keyFile, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	signer := cert.PrivateKey.(crypto.Signer)
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			digest := make([]byte, 32)
			var err error
			for i := range 10 {
				digest[0], digest[1] = byte(g), byte(i)
				var sig []byte
				if sig, err = signer.Sign(rand.Reader, digest, opts); err == nil {
					err = rsa.VerifyPSS(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest, sig, opts)
				}
				if err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// BenchmarkRSASign: one TLS 1.3 CertificateVerify signature (RSA-PSS,
// SHA-256) with a loaded RSA-2048 key: whatever RSASigner says (fastrsa's
// IFMA code, Go's crypto/rsa), BoringCrypto (GOEXPERIMENT=boringcrypto) or
// OpenSSL (-tags openssl) on the same key.
func BenchmarkRSASign(b *testing.B) {
	certFile, keyFile, _ := writeRSAPair(b, b.TempDir())
	cert, err := Load(certFile, keyFile, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	signer := cert.PrivateKey.(crypto.Signer)
	digest := make([]byte, 32)
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	for b.Loop() {
		if _, err := signer.Sign(rand.Reader, digest, opts); err != nil {
			b.Fatal(err)
		}
	}
}

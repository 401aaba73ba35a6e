// Package testcert makes certificates for tests: leaves for any DNS names
// and validity period, signed by one CA per process that Roots trusts. It
// is imported by tests only.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Spec describes a leaf certificate.
type Spec struct {
	Names     []string  // DNS names; the first is also the common name
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: a day from now
}

var ca struct {
	once  sync.Once
	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	pem   []byte
	roots *x509.CertPool
}

func initCA() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsproxy test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	ca.cert, err = x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	ca.key = key
	ca.pem = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ca.roots = x509.NewCertPool()
	ca.roots.AddCert(ca.cert)
}

// Roots returns a pool that trusts every certificate Make makes.
func Roots() *x509.CertPool {
	ca.once.Do(initCA)
	return ca.roots
}

// Make returns a PEM chain (the leaf, then the CA) and a PEM PKCS #8 ECDSA
// P-256 key for spec.
func Make(t testing.TB, spec Spec) (certPEM, keyPEM []byte) {
	t.Helper()
	ca.once.Do(initCA)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		DNSNames:     spec.Names,
		NotBefore:    spec.NotBefore,
		NotAfter:     spec.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if len(spec.Names) > 0 {
		tmpl.Subject.CommonName = spec.Names[0]
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = time.Now().Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.pem...)
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	return certPEM, keyPEM
}

// Write writes Make's output to dir/name.crt and dir/name.key and returns
// their paths.
func Write(t testing.TB, dir, name string, spec Spec) (certFile, keyFile string) {
	t.Helper()
	c, k := Make(t, spec)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, c, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// WriteCA writes the CA certificate to dir/ca.pem and returns its path, for
// configurations that name a CA file.
func WriteCA(t testing.TB, dir string) string {
	t.Helper()
	ca.once.Do(initCA)
	file := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(file, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

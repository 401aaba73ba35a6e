package core

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
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

// Certificates for tests, exported to the core_test package. Every leaf
// is signed by one CA made per test binary; CARoots trusts it.

// CertSpec describes a test certificate.
type CertSpec struct {
	Names     []string  // DNS names; the first is also the common name
	NotBefore time.Time // zero: an hour ago
	NotAfter  time.Time // zero: a day from now
}

var testCA struct {
	once  sync.Once
	cert  *x509.Certificate
	key   *ecdsa.PrivateKey
	pem   []byte
	roots *x509.CertPool
}

func initTestCA() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "wsproxy test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	testCA.cert, _ = x509.ParseCertificate(der)
	testCA.key = key
	testCA.pem = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	testCA.roots = x509.NewCertPool()
	testCA.roots.AddCert(testCA.cert)
}

// CARoots returns a pool that trusts every certificate MakeCert makes.
func CARoots() *x509.CertPool {
	testCA.once.Do(initTestCA)
	return testCA.roots
}

// MakeCert returns a PEM chain (leaf, then the CA) and a PEM key for spec.
func MakeCert(t testing.TB, spec CertSpec) (certPEM, keyPEM []byte) {
	t.Helper()
	testCA.once.Do(initTestCA)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
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
	der, err := x509.CreateCertificate(rand.Reader, tmpl, testCA.cert, &key.PublicKey, testCA.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), testCA.pem...)
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	return certPEM, keyPEM
}

// WriteCert writes MakeCert's output to dir/name.crt and dir/name.key.
func WriteCert(t testing.TB, dir, name string, spec CertSpec) (certFile, keyFile string) {
	t.Helper()
	c, k := MakeCert(t, spec)
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, c, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, k, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// testCertificate is MakeCert as a tls.Certificate.
func testCertificate(t testing.TB, names ...string) tls.Certificate {
	t.Helper()
	cert, err := tls.X509KeyPair(MakeCert(t, CertSpec{Names: names}))
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// testLeaf is a parsed leaf with only names set, for certSet.
func testLeaf(names ...string) *x509.Certificate { return &x509.Certificate{DNSNames: names} }

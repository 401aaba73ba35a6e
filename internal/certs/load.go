package certs

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Load reads a PEM certificate chain (leaf first) and its private key, and
// checks that they belong together and that the leaf is valid at now. The
// returned certificate has its Leaf set. Errors name the file at fault.
func Load(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	certPEM, err := readPEMFile("certificate", certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readPEMFile("key", keyFile)
	if err != nil {
		return nil, keyError{err}
	}
	var leafDER []byte
	for rest := certPEM; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		if strings.Contains(b.Type, "PRIVATE KEY") {
			return nil, fmt.Errorf("certificate %s: holds a private key, not a certificate (cert and key swapped?)", certFile)
		}
		if b.Type == "CERTIFICATE" && leafDER == nil {
			leafDER = b.Bytes
		}
	}
	if leafDER == nil {
		return nil, fmt.Errorf("certificate %s: no PEM CERTIFICATE block", certFile)
	}
	leaf, err := x509.ParseCertificate(leafDER)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %v", certFile, err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err != nil && strings.Contains(err.Error(), "does not match"):
		return nil, keyError{fmt.Errorf("key %s does not match certificate %s", keyFile, certFile)}
	case err != nil:
		return nil, keyError{fmt.Errorf("key %s (for certificate %s): %v", keyFile, certFile, err)}
	}
	cert.Leaf = leaf
	cert.PrivateKey = fastSigner(cert.PrivateKey)
	switch {
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("certificate %s (%s): expired at %s", certFile, leafName(leaf), leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("certificate %s (%s): not valid before %s", certFile, leafName(leaf), leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

// keyError marks an error of Load as the key file's, so that it is
// reported at the key's line of the configuration.
type keyError struct{ error }

func (e keyError) Unwrap() error { return e.error }

// LoadCAFile reads a PEM file of trusted certificate authorities.
func LoadCAFile(file string) (*x509.CertPool, error) {
	b, err := readPEMFile("CA file", file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s: no PEM CERTIFICATE block", file)
	}
	return pool, nil
}

// readPEMFile reads a certificate, key or CA file; what says which, for
// the error.
func readPEMFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // the path is in the message already
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %v", what, path, err)
	}
	return b, nil
}

// leafName names a certificate in messages by its first DNS name.
func leafName(c *x509.Certificate) string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames[0]
	}
	return "CN=" + c.Subject.CommonName
}

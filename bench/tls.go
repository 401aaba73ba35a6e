package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// tlsFiles are a trial's certificate and key for the proxies (Config.TLS):
// one self-signed ECDSA P-256 certificate for 127.0.0.1 and localhost, as
// separate PEM files (wsproxy, nginx) and as one file with both (HAProxy's
// crt).
type tlsFiles struct {
	Cert, Key, Both string
}

// perWssConn is what one wss:// client connection costs the load
// generator in descriptors: its socket and a socket pair to the TLS
// bridge (loadtest).
const perWssConn = 3

// writeTLSFiles makes a certificate valid for a day and writes it into dir.
func writeTLSFiles(dir string) (tlsFiles, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tlsFiles{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "wsproxy bench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tlsFiles{}, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tlsFiles{}, err
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	f := tlsFiles{Cert: filepath.Join(dir, "bench.crt"), Key: filepath.Join(dir, "bench.key"), Both: filepath.Join(dir, "bench.pem")}
	for _, w := range []struct {
		path string
		data []byte
	}{{f.Cert, cert}, {f.Key, keyPEM}, {f.Both, append(append([]byte{}, cert...), keyPEM...)}} {
		// 0644: nginx's workers, which read nothing after start, run as
		// another user; the key of a throwaway certificate is no secret.
		if err := os.WriteFile(w.path, w.data, 0o644); err != nil {
			return tlsFiles{}, err
		}
	}
	return f, nil
}

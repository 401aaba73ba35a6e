package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// tlsFiles are a trial's certificate and key for the proxies (Config.TLS):
// one self-signed certificate for 127.0.0.1 and localhost, with an ECDSA
// P-256 or an RSA-2048 key (Config.TLSKey), as
// separate PEM files (wsproxy, nginx) and as one file with both (HAProxy's
// crt).
type tlsFiles struct {
	Cert, Key, Both string
}

// Config.Curves's values.
const (
	// CurvesSame: every proxy offers sameCurves, the key exchanges
	// OpenSSL 3.0 (nginx 1.22, HAProxy 2.6 on Debian 12) has by default and
	// prefers; wsproxy's Go default would put the hybrid post-quantum
	// X25519MLKEM768 first, which a Go client takes and which costs more
	// CPU per handshake, resumed ones too (BENCHMARKS.md, issue 13).
	CurvesSame = "same"
	// CurvesOwn: each proxy keeps its own default.
	CurvesOwn = "own"
)

// sameCurves are the key exchanges of CurvesSame, in wsproxy's names
// (config.TLS.Curves); opensslCurveNames spells them for nginx and HAProxy.
var sameCurves = []string{"X25519", "P256"}

var opensslCurveNames = map[string]string{"X25519": "X25519", "P256": "prime256v1"}

// perWssConn is what one wss:// client connection costs the load
// generator in descriptors: its socket and a socket pair to the TLS
// bridge (loadtest).
const perWssConn = 3

// newKey makes a private key of type kind (KeyECDSA or KeyRSA) and says
// what a certificate for it may be used for: RSA keys also encipher keys
// (TLS 1.2's RSA key exchange).
func newKey(kind string) (crypto.Signer, x509.KeyUsage, error) {
	switch kind {
	case KeyECDSA, "":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		return k, x509.KeyUsageDigitalSignature, err
	case KeyRSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		return k, x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, err
	}
	return nil, 0, fmt.Errorf("bench: certificate key type %q: want %s or %s", kind, KeyECDSA, KeyRSA)
}

// writeTLSFiles makes a certificate with a key of type kind (KeyECDSA or
// KeyRSA), valid for a day, and writes it into dir.
func writeTLSFiles(dir, kind string) (tlsFiles, error) {
	key, usage, err := newKey(kind)
	if err != nil {
		return tlsFiles{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "wsproxy bench"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              usage | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
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

// probeTLS makes one TLS handshake with addr as the load generator's
// clients do (Go's defaults) and names what was negotiated: version, key
// exchange and signature key. The key exchange differs between proxies
// (Go's server takes the hybrid X25519MLKEM768 a Go client offers first,
// OpenSSL 3.0 knows only X25519), and its cost is in CPU per handshake.
func probeTLS(addr string) (string, error) {
	d := &net.Dialer{Timeout: 10 * time.Second}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) // the trial's self-signed certificate
	if err != nil {
		return "", fmt.Errorf("bench: TLS probe of %s: %w", addr, err)
	}
	defer c.Close()
	return negotiated(c.ConnectionState()), nil
}

// negotiated formats what a handshake agreed: "TLS 1.3, X25519MLKEM768, ECDSA".
func negotiated(cs tls.ConnectionState) string {
	key := "?"
	if len(cs.PeerCertificates) > 0 {
		key = cs.PeerCertificates[0].PublicKeyAlgorithm.String()
	}
	return fmt.Sprintf("%s, %s, %s", tls.VersionName(cs.Version), cs.CurveID, key)
}

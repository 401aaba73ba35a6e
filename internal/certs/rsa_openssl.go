//go:build openssl && cgo

package certs

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static EVP_PKEY *wsp_rsa_load(const unsigned char *der, long n) {
	const unsigned char *p = der;
	return d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, n);
}

// wsp_rsa_sign signs the digest dig (dn bytes, made with md): RSA-PSS with
// a salt as long as the digest and MGF1 with md if pss, else PKCS #1 v1.5.
// 1 on success.
static int wsp_rsa_sign(EVP_PKEY *k, int pss, int mdnid, const unsigned char *dig, size_t dn, unsigned char *sig, size_t *sn) {
	const EVP_MD *md = EVP_get_digestbynid(mdnid);
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
	int ok = 0;
	if (md == NULL || c == NULL) goto out;
	if (EVP_PKEY_sign_init(c) <= 0 || EVP_PKEY_CTX_set_signature_md(c, md) <= 0) goto out;
	if (pss) {
		if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) <= 0) goto out;
	} else if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) <= 0) goto out;
	ok = EVP_PKEY_sign(c, sig, sn, dig, dn) > 0;
out:
	EVP_PKEY_CTX_free(c);
	return ok;
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"io"
	"runtime"
	"unsafe"
)

// RSASigner names what signs with RSA keys: "openssl" in a build with
// -tags openssl (and cgo), OpenSSL's libcrypto, as nginx does.
var RSASigner = "openssl"

// opensslRSA is an RSA key whose signatures OpenSSL's libcrypto makes
// (2-4× faster than Go's on x86-64 with AVX-512 IFMA: BENCHMARKS.md,
// "RSA full handshakes"). Public, Decrypt and the signatures OpenSSL is
// not asked for (other hashes, other salt lengths) are Go's.
type opensslRSA struct {
	*rsa.PrivateKey
	pkey *C.EVP_PKEY
}

// nids are OpenSSL's digest numbers of the hashes TLS 1.2 and 1.3 sign.
var nids = map[crypto.Hash]C.int{crypto.SHA1: C.NID_sha1, crypto.SHA256: C.NID_sha256, crypto.SHA384: C.NID_sha384, crypto.SHA512: C.NID_sha512}

// fastSigner returns an OpenSSL-backed signer for an RSA key, key itself
// for any other key or if OpenSSL does not take it.
func fastSigner(key crypto.PrivateKey) crypto.PrivateKey {
	k, ok := key.(*rsa.PrivateKey)
	if !ok {
		return key
	}
	der := x509.MarshalPKCS1PrivateKey(k)
	p := C.wsp_rsa_load((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	clear(der)
	if p == nil {
		return key
	}
	o := &opensslRSA{PrivateKey: k, pkey: p}
	runtime.AddCleanup(o, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, p)
	// One signature now, on the loading goroutine, checked by Go: OpenSSL
	// 3.0 converts a key read by d2i_PrivateKey for its provider on first
	// use, which is then done before handshakes share the key; and a key
	// OpenSSL signs wrongly with is never used.
	digest := make([]byte, crypto.SHA256.Size())
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	if sig, err := o.Sign(nil, digest, opts); err != nil || rsa.VerifyPSS(&k.PublicKey, crypto.SHA256, digest, sig, opts) != nil {
		return key
	}
	return o
}

func (k *opensslRSA) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h := opts.HashFunc()
	nid, ok := nids[h]
	pss, isPSS := opts.(*rsa.PSSOptions)
	if !ok || len(digest) != h.Size() || isPSS && pss.SaltLength != rsa.PSSSaltLengthEqualsHash {
		return k.PrivateKey.Sign(r, digest, opts)
	}
	sig := make([]byte, k.Size())
	n := C.size_t(len(sig))
	psc := C.int(0)
	if isPSS {
		psc = 1
	}
	if C.wsp_rsa_sign(k.pkey, psc, nid, (*C.uchar)(unsafe.Pointer(&digest[0])), C.size_t(len(digest)), (*C.uchar)(unsafe.Pointer(&sig[0])), &n) != 1 {
		return nil, errors.New("certs: OpenSSL RSA signature failed")
	}
	runtime.KeepAlive(k)
	return sig[:n], nil
}

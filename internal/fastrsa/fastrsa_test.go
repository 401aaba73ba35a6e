package fastrsa

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	_ "crypto/sha1"
	_ "crypto/sha256"
	_ "crypto/sha512"
	"sync"
	"testing"
)

var (
	keyOnce sync.Once
	key2048 *rsa.PrivateKey
)

// testKey is one RSA-2048 key for the package's tests.
func testKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		key2048 = k
	})
	return key2048
}

var hashes = []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512}

func digestOf(h crypto.Hash, s string) []byte {
	d := h.New()
	d.Write([]byte(s))
	return d.Sum(nil)
}

// TestSign: with each kernel, PKCS #1 v1.5 signatures are crypto/rsa's
// byte for byte (the scheme is deterministic), and PSS signatures with a
// salt as long as the hash verify, for every hash TLS uses; the signatures
// not taken here (the longest salt) still verify.
func TestSign(t *testing.T) {
	priv := testKey(t)
	for _, kn := range kernels() {
		k := newKey(priv, kn.kernel)
		if k == nil {
			t.Fatalf("%s: newKey refused an RSA-2048 key", kn.name)
		}
		for _, h := range hashes {
			digest := digestOf(h, "wsproxy "+kn.name)
			got, err := k.Sign(rand.Reader, digest, h)
			if err != nil {
				t.Fatal(err)
			}
			want, err := rsa.SignPKCS1v15(nil, priv, h, digest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s %v: PKCS #1 v1.5 signature differs from crypto/rsa's", kn.name, h)
			}
			for _, salt := range []int{rsa.PSSSaltLengthEqualsHash, h.Size(), rsa.PSSSaltLengthAuto} {
				opts := &rsa.PSSOptions{SaltLength: salt, Hash: h}
				sig, err := k.Sign(rand.Reader, digest, opts)
				if err != nil {
					t.Fatal(err)
				}
				if err := rsa.VerifyPSS(&priv.PublicKey, h, digest, sig, opts); err != nil {
					t.Errorf("%s %v salt %d: %v", kn.name, h, salt, err)
				}
			}
		}
	}
}

// TestSignOthers: what is not taken here (no hash: a raw PKCS #1 v1.5
// signature of a TLS 1.0 MD5+SHA-1 digest; a digest of the wrong length)
// is crypto/rsa's answer, signature or error.
func TestSignOthers(t *testing.T) {
	priv := testKey(t)
	k := newKey(priv, &goKernel)
	raw := make([]byte, 36)
	got, err := k.Sign(nil, raw, crypto.Hash(0))
	want, werr := rsa.SignPKCS1v15(nil, priv, crypto.Hash(0), raw)
	if err != nil || werr != nil || !bytes.Equal(got, want) {
		t.Errorf("raw: %v / %v, equal %v", err, werr, bytes.Equal(got, want))
	}
	if _, err := k.Sign(nil, raw[:31], crypto.SHA256); err == nil {
		t.Error("a 31-byte SHA-256 digest was signed")
	}
}

// TestSignSaltsDiffer: two PSS signatures of one digest differ (each has
// its own random salt) and both verify.
func TestSignSaltsDiffer(t *testing.T) {
	priv := testKey(t)
	k := newKey(priv, &goKernel)
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	d := digestOf(crypto.SHA256, "x")
	a, err1 := k.Sign(nil, d, opts)
	b, err2 := k.Sign(nil, d, opts)
	if err1 != nil || err2 != nil || bytes.Equal(a, b) {
		t.Fatalf("errors %v %v, equal %v", err1, err2, bytes.Equal(a, b))
	}
}

// TestNewRefuses: keys the kernel does not fit are left to crypto/rsa.
func TestNewRefuses(t *testing.T) {
	for _, c := range []struct {
		name string
		gen  func() (*rsa.PrivateKey, error)
	}{
		{"1024-bit", func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 1024) }},
		{"3072-bit", func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 3072) }},
		{"three primes", func() (*rsa.PrivateKey, error) { return rsa.GenerateMultiPrimeKey(rand.Reader, 3, 2048) }},
	} {
		k, err := c.gen()
		if err != nil {
			t.Logf("%s: %v", c.name, err) // GODEBUG may refuse small or multi-prime keys
			continue
		}
		if newKey(k, &goKernel) != nil {
			t.Errorf("%s key: newKey took it", c.name)
		}
	}
	if newKey(nil, &goKernel) != nil {
		t.Error("nil key taken")
	}
}

// TestFaultFallsBack: a private operation that goes wrong (a kernel that
// flips a bit) is caught by the check with the public key, and the
// signature is crypto/rsa's: never a wrong one, which would give away a
// prime (the Bellcore attack on CRT).
func TestFaultFallsBack(t *testing.T) {
	priv := testKey(t)
	faulty := &kernel{
		amm2: func(res, a, b, m *pair, k0 *[2]uint64) {
			amm2Go(res, a, b, m, k0)
			res[0][3] ^= 1 << 7
		},
		sel: selectGo,
	}
	k := newKey(priv, faulty)
	d := digestOf(crypto.SHA256, "fault")
	got, err := k.Sign(nil, d, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d)
	if !bytes.Equal(got, want) {
		t.Fatal("a faulty private operation's signature was released")
	}
	em := emsaPKCS1v15(crypto.SHA256, d, 256)
	if k.verify(k.private(em), em) {
		t.Fatal("the faulty kernel was not faulty: the test proves nothing")
	}
}

// TestSignConcurrent: one key signs from several goroutines at once (the
// scratch memory is pooled, the key read-only).
func TestSignConcurrent(t *testing.T) {
	priv := testKey(t)
	kn := kernels()[len(kernels())-1]
	k := newKey(priv, kn.kernel)
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 5 {
				d := digestOf(crypto.SHA256, string(rune('a'+g))+string(rune('a'+i)))
				sig, err := k.Sign(nil, d, opts)
				if err == nil {
					err = rsa.VerifyPSS(&priv.PublicKey, crypto.SHA256, d, sig, opts)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("%s: %v", kn.name, err)
	}
}

// BenchmarkSign: one TLS 1.3 CertificateVerify (PSS, SHA-256) with each
// kernel, and crypto/rsa's for comparison.
func BenchmarkSign(b *testing.B) {
	priv := testKey(b)
	d := digestOf(crypto.SHA256, "bench")
	opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
	b.Run("crypto-rsa", func(b *testing.B) {
		for b.Loop() {
			if _, err := priv.Sign(rand.Reader, d, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, kn := range kernels() {
		k := newKey(priv, kn.kernel)
		b.Run(kn.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := k.Sign(nil, d, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

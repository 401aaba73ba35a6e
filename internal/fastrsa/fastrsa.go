// Package fastrsa makes RSA-2048 signatures with AVX-512 IFMA, the
// multiply-add of 52-bit numbers x86-64 servers have had since Ice Lake
// (Intel) and Zen 4 (AMD): 3-4× fewer cycles per signature than
// crypto/rsa's 64-bit Montgomery multiplication, which is most of the CPU
// of a full TLS handshake with an RSA certificate (BENCHMARKS.md, "RSA in
// 52-bit digits").
//
// The private operation is the textbook one with the Chinese remainder
// theorem: s1 = c^dp mod p and s2 = c^dq mod q, computed together (one
// kernel call multiplies modulo p and modulo q at once), then
// s = s2 + q·(qinv·(s1 - s2) mod p). The modular exponentiation is
// Montgomery's in radix 2^52 with R = 2^1040, "almost" reduced (every
// intermediate below 2m, S. Gueron's almost Montgomery multiplication),
// with a 5-bit fixed window: the same multiplications, in the same order,
// and a read of every table entry, whatever the exponent, and no branch
// or memory address that depends on a secret. Every signature is checked
// with the public key before it leaves (s^e = c mod n): a signature the
// check rejects is made again by crypto/rsa, so a fault never releases a
// value that would reveal a prime.
//
// Only what a TLS server signs goes this way: RSA-PSS with a salt as
// long as the hash and PKCS #1 v1.5, with SHA-1, SHA-256, SHA-384 or
// SHA-512, for a 2,048-bit key of two 1,024-bit primes. Everything else
// (other sizes, multi-prime keys, other salt lengths, decryption) is
// crypto/rsa's.
package fastrsa

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"errors"
	"io"
	"math/big"
	"math/bits"
	"sync"
)

// Key signs with an RSA-2048 private key; it is safe for concurrent use.
type Key struct {
	*rsa.PrivateKey // Public, Decrypt and the signatures not taken here
	h               *halves
	qinvR           nat52      // qinv·2^1040 mod p
	q               [16]uint64 // q as little-endian words
	k               *kernel
	pool            sync.Pool // *scratch
}

// Supported reports whether this CPU has the instructions the fast path
// needs (AVX-512 F, VL and IFMA, BMI2, and an OS that saves the registers).
func Supported() bool { return ifmaKernel != nil }

// New returns a Key for k, or nil if the CPU lacks AVX-512 IFMA or k is
// not a 2,048-bit key of two 1,024-bit primes.
func New(k *rsa.PrivateKey) *Key {
	if ifmaKernel == nil {
		return nil
	}
	return newKey(k, ifmaKernel)
}

func newKey(k *rsa.PrivateKey, kern *kernel) *Key {
	if k == nil || k.N == nil || k.N.BitLen() != 2048 || len(k.Primes) != 2 ||
		k.Primes[0].BitLen() != 1024 || k.Primes[1].BitLen() != 1024 || k.E < 3 {
		return nil
	}
	if k.Validate() != nil {
		return nil
	}
	p, q := k.Primes[0], k.Primes[1]
	one := big.NewInt(1)
	dp := new(big.Int).Mod(k.D, new(big.Int).Sub(p, one))
	dq := new(big.Int).Mod(k.D, new(big.Int).Sub(q, one))
	qinv := new(big.Int).ModInverse(q, p)
	if qinv == nil {
		return nil
	}
	key := &Key{PrivateKey: k, h: newHalves(p, q, dp, dq), k: kern}
	r := new(big.Int).Lsh(one, 52*digits)
	from64(&key.qinvR, words(new(big.Int).Mod(new(big.Int).Mul(qinv, r), p), 17))
	copy(key.q[:], words(q, 16))
	key.pool.New = func() any { return new(scratch) }
	return key
}

// Sign signs digest like (*rsa.PrivateKey).Sign: RSA-PSS if opts is an
// *rsa.PSSOptions, else PKCS #1 v1.5. The salt comes from crypto/rand
// (as crypto/rsa's does since Go 1.24, whatever rand is).
func (k *Key) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if r == nil {
		r = rand.Reader // crypto/rsa's PSS needs one
	}
	h := opts.HashFunc()
	pss, isPSS := opts.(*rsa.PSSOptions)
	var em []byte
	var err error
	switch {
	case prefixes[h] == nil || !h.Available() || len(digest) != h.Size():
		return k.PrivateKey.Sign(r, digest, opts)
	case isPSS && (pss.SaltLength == rsa.PSSSaltLengthEqualsHash || pss.SaltLength == h.Size()):
		em, err = emsaPSS(h, digest, k.Size())
	case isPSS:
		return k.PrivateKey.Sign(r, digest, opts)
	default:
		em = emsaPKCS1v15(h, digest, k.Size())
	}
	if err != nil {
		return nil, err
	}
	sig := k.private(em)
	if !k.verify(sig, em) {
		return k.PrivateKey.Sign(r, digest, opts)
	}
	return sig, nil
}

// private returns c^d mod n as 256 big-endian bytes, for c (em) < n.
func (k *Key) private(em []byte) []byte {
	s := k.pool.Get().(*scratch)
	defer k.pool.Put(s)
	var w [40]uint64 // c as little-endian words, 2,560 bits of room
	fromBE(w[:32], em)
	var lo, hi nat52
	split(&lo, &hi, &w)
	k.h.toMont(k.k, s, &lo, &hi)
	var out pair
	k.h.exp(k.k, s, &out)
	// h = qinv·(s1 - s2) mod p, with s1 - s2 + 2p > 0 (s2 < q < 2p).
	var t nat52
	add(&t, &out[0], &k.h.m[0])
	add(&t, &t, &k.h.m[0])
	sub(&t, &t, &out[1])
	a := pair{t, t}
	b := pair{k.qinvR, k.qinvR}
	m := pair{k.h.m[0], k.h.m[0]}
	k0 := [2]uint64{k.h.k0[0], k.h.k0[0]}
	var hp pair
	k.k.amm2(&hp, &a, &b, &m, &k0)
	reduceOnce(&hp[0], &k.h.m[0])
	// s = s2 + h·q: 16 × 16 words, schoolbook, no branch on the values.
	var hw, s2 [17]uint64
	to64(hw[:], &hp[0])
	to64(s2[:], &out[1])
	var z [33]uint64
	copy(z[:17], s2[:])
	for i := range 16 {
		var c uint64
		for j := range 16 {
			hi, lo := bits.Mul64(hw[i], k.q[j])
			var c1, c2 uint64
			z[i+j], c1 = bits.Add64(z[i+j], lo, 0)
			z[i+j], c2 = bits.Add64(z[i+j], c, 0)
			c = hi + c1 + c2
		}
		for j := i + 16; j < 33; j++ {
			z[j], c = bits.Add64(z[j], c, 0)
		}
	}
	sig := make([]byte, 256)
	toBE(sig, z[:32])
	*s = scratch{} // no power of the message stays in the pool
	return sig
}

// verify reports whether sig^e mod n is em (public values: math/big's
// variable time is fine).
func (k *Key) verify(sig, em []byte) bool {
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(k.N) >= 0 {
		return false
	}
	c := s.Exp(s, big.NewInt(int64(k.E)), k.N).FillBytes(make([]byte, len(em)))
	return subtle.ConstantTimeCompare(c, em) == 1
}

var errMessageTooLong = errors.New("fastrsa: key too short for the hash")

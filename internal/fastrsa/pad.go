package fastrsa

import (
	"crypto"
	"crypto/rand"
	"encoding/binary"
	"hash"
)

// The encodings of RFC 8017 a signature is made of.

// prefixes are the DER DigestInfo headers of PKCS #1 v1.5 (RFC 8017
// section 9.2, note 1), by hash.
var prefixes = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// emsaPKCS1v15 returns EM = 00 01 FF..FF 00 DigestInfo, k bytes (9.2).
func emsaPKCS1v15(h crypto.Hash, digest []byte, k int) []byte {
	p := prefixes[h]
	em := make([]byte, k)
	em[1] = 1
	n := k - len(p) - len(digest)
	for i := 2; i < n-1; i++ {
		em[i] = 0xff
	}
	copy(em[n:], p)
	copy(em[n+len(p):], digest)
	return em
}

// emsaPSS returns EMSA-PSS-ENCODE (9.1.1) of digest with a random salt as
// long as the hash and MGF1 with the same hash, for a modulus of 8k bits
// (emBits = 8k - 1, so emLen = k and the top bit of EM is cleared).
func emsaPSS(h crypto.Hash, digest []byte, k int) ([]byte, error) {
	hLen := h.Size()
	sLen := hLen
	if k < hLen+sLen+2 {
		return nil, errMessageTooLong
	}
	salt := make([]byte, sLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	hs := h.New()
	var zeros [8]byte
	hs.Write(zeros[:])
	hs.Write(digest)
	hs.Write(salt)
	em := make([]byte, k)
	dbLen := k - hLen - 1
	H := hs.Sum(em[dbLen:dbLen])
	em[k-1] = 0xbc
	db := em[:dbLen]
	db[dbLen-sLen-1] = 1
	copy(db[dbLen-sLen:], salt)
	mgf1XOR(db, h.New(), H)
	db[0] &= 0x7f // 8·emLen - emBits = 1 bit
	return em, nil
}

// mgf1XOR XORs out with MGF1(seed) made with hash d (appendix B.2.1).
func mgf1XOR(out []byte, d hash.Hash, seed []byte) {
	var ctr [4]byte
	var sum []byte
	for done, c := 0, uint32(0); done < len(out); c++ {
		binary.BigEndian.PutUint32(ctr[:], c)
		d.Reset()
		d.Write(seed)
		d.Write(ctr[:])
		sum = d.Sum(sum[:0])
		for i := 0; i < len(sum) && done < len(out); i++ {
			out[done] ^= sum[i]
			done++
		}
	}
}

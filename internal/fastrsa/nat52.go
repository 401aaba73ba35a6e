package fastrsa

import (
	"encoding/binary"
	"math/bits"
)

// Numbers of up to 1,040 bits in radix 2^52, the form AVX-512 IFMA
// multiplies (52 × 52-bit products added to 64-bit lanes).

const (
	digits = 20 // 52-bit digits of a half (1,024-bit prime), 20 × 52 = 1,040
	lanes  = 24 // digits rounded up to three 512-bit registers of 8
	mask52 = 1<<52 - 1
)

// nat52 is a number below 2^1040: digit i is bits 52i..52i+51, digits
// 20-23 are zero (the kernels rely on it). Normalized: every digit < 2^52.
type nat52 [lanes]uint64

// pair is the p and q halves of a key side by side: the two-way kernel
// (amm2) multiplies both at once, which hides the latency of one chain of
// multiply-adds behind the other.
type pair [2]nat52

// ammGo is the reference of the kernel: res = a·b·2^-1040 mod m for one
// half, "almost" reduced (res < 2m, not necessarily < m), digit by digit as
// the assembly does it, so both give the same integer: (a·b + y·m)/2^1040
// for the y that makes the division exact, which is below 2m when
// a·b < 2^1040·m (any a, b < 4m for a 1,024-bit m; or a below 2^1040 and
// b below m). k0 = -m^-1 mod 2^52. res may alias a or b.
func ammGo(res, a, b, m *nat52, k0 uint64) {
	var t [digits + 2]uint64
	for i := range digits {
		t[digits] += mulAdd(&t, a, b[i])
		y := (t[0] * k0) & mask52
		t[digits] += mulAdd(&t, m, y)
		copy(t[:digits+1], t[1:]) // t[0] is 0: divide by 2^52
	}
	t[digits] = t[digits-1] >> 52
	t[digits-1] &= mask52
	copy(res[:digits], t[:digits])
	clear(res[digits:])
}

// mulAdd adds x·y to the 20 low digits of t (normalizing them) and returns
// the carry out of digit 19.
func mulAdd(t *[digits + 2]uint64, x *nat52, y uint64) uint64 {
	var c uint64
	for j := range digits {
		hi, lo := bits.Mul64(x[j], y)
		v := t[j] + lo&mask52 + c
		t[j] = v & mask52
		c = v>>52 + (hi<<12 | lo>>52)
	}
	return c
}

// amm2Go is ammGo on both halves.
func amm2Go(res, a, b, m *pair, k0 *[2]uint64) {
	ammGo(&res[0], &a[0], &b[0], &m[0], k0[0])
	ammGo(&res[1], &a[1], &b[1], &m[1], k0[1])
}

// selectGo sets out to table[idx] reading every entry, in time that does
// not depend on idx.
func selectGo(out *nat52, table *[tableSize]nat52, idx uint64) {
	var r nat52
	for i := range table {
		m := ctEq(uint64(i), idx)
		for j := range r {
			r[j] |= table[i][j] & m
		}
	}
	*out = r
}

// ctEq is all ones if x == y, else 0, without a branch.
func ctEq(x, y uint64) uint64 {
	d := x ^ y
	return ((d | -d) >> 63) - 1
}

// add sets z = x + y; the sum must fit 20 digits.
func add(z, x, y *nat52) {
	var c uint64
	for j := range digits {
		v := x[j] + y[j] + c
		z[j], c = v&mask52, v>>52
	}
}

// sub sets z = x - y and returns 1 if it borrowed (x < y), else 0.
func sub(z, x, y *nat52) uint64 {
	var b uint64
	for j := range digits {
		v := x[j] - y[j] - b
		z[j], b = v&mask52, v>>63
	}
	return b
}

// reduceOnce sets x = x - m if x ≥ m, for x < 2m, in constant time.
func reduceOnce(x, m *nat52) {
	var d nat52
	keep := -sub(&d, x, m) // all ones if x < m
	for j := range digits {
		x[j] = x[j]&keep | d[j]&^keep
	}
}

// from64 sets z to the number whose little-endian 64-bit words are w (at
// most 1,040 bits); each digit is cut at fixed positions.
func from64(z *nat52, w []uint64) {
	*z = nat52{}
	for i := range digits {
		bit := 52 * i
		k, s := bit/64, uint(bit%64)
		var v uint64
		if k < len(w) {
			v = w[k] >> s
		}
		if k+1 < len(w) && s > 12 {
			v |= w[k+1] << (64 - s)
		}
		z[i] = v & mask52
	}
}

// to64 writes x into w as little-endian 64-bit words (len(w)·64 ≥ the bits
// x holds).
func to64(w []uint64, x *nat52) {
	clear(w)
	for i := range digits {
		bit := 52 * i
		k, s := bit/64, uint(bit%64)
		if k < len(w) {
			w[k] |= x[i] << s
		}
		if k+1 < len(w) && s > 12 {
			w[k+1] |= x[i] >> (64 - s)
		}
	}
}

// split sets lo and hi to the low and high 20 digits of the number whose
// little-endian words are w (below 2^2080): w = hi·2^1040 + lo.
func split(lo, hi *nat52, w *[40]uint64) {
	from64(lo, w[:])
	var sh [17]uint64 // digit 20 starts at bit 1,040: word 16, bit 16
	for i := range sh {
		sh[i] = w[16+i]>>16 | w[17+i]<<48
	}
	from64(hi, sh[:])
}

// fromBE sets w to the big-endian bytes b (len(b) = 8·len(w)) as
// little-endian 64-bit words.
func fromBE(w []uint64, b []byte) {
	for i := range w {
		w[i] = binary.BigEndian.Uint64(b[len(b)-8*(i+1):])
	}
}

// toBE writes the little-endian words w into b (len(b) = 8·len(w)) as
// big-endian bytes.
func toBE(b []byte, w []uint64) {
	for i := range w {
		binary.BigEndian.PutUint64(b[len(b)-8*(i+1):], w[i])
	}
}

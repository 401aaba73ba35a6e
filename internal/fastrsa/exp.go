package fastrsa

import "math/big"

const (
	window    = 5 // exponent bits per table lookup
	tableSize = 1 << window
	expBits   = 1025 // bits scanned: 205 windows of 5 cover a 1,024-bit exponent
)

// kernel is the multiplication and table lookup exp uses: the AVX-512
// IFMA assembly, or the Go reference (tests, and the check that the
// assembly gives the same numbers).
type kernel struct {
	amm2 func(res, a, b, m *pair, k0 *[2]uint64)
	sel  func(out *nat52, table *[tableSize]nat52, idx uint64)
}

var goKernel = kernel{amm2: amm2Go, sel: selectGo}

// halves is what the private operation needs of p (index 0) and q (1).
type halves struct {
	m    pair          // p, q
	k0   [2]uint64     // -m^-1 mod 2^52
	rr   pair          // 2^2080 mod m: a·rr·2^-1040 is a in Montgomery form
	one  pair          // 2^1040 mod m: 1 in Montgomery form
	d    [2][17]uint64 // dp, dq as little-endian words; word 16 is zero
	unit pair          // the number 1, to leave Montgomery form
}

// newHalves computes the constants of p and q and exponents dp, dq (all
// at most 1,024 bits: the caller checked).
func newHalves(p, q, dp, dq *big.Int) *halves {
	h := new(halves)
	r := new(big.Int).Lsh(big.NewInt(1), 52*digits)
	for i, m := range []*big.Int{p, q} {
		from64(&h.m[i], words(m, 17))
		inv := uint64(1) // m^-1 mod 2^64 by Newton's iteration
		m0 := h.m[i][0]
		for range 6 {
			inv *= 2 - m0*inv
		}
		h.k0[i] = -inv & mask52
		from64(&h.one[i], words(new(big.Int).Mod(r, m), 17))
		from64(&h.rr[i], words(new(big.Int).Mod(new(big.Int).Mul(r, r), m), 17))
		h.unit[i][0] = 1
	}
	copy(h.d[0][:], words(dp, 17))
	copy(h.d[1][:], words(dq, 17))
	return h
}

// words returns x as n little-endian 64-bit words.
func words(x *big.Int, n int) []uint64 {
	w := make([]uint64, n)
	fromBE(w, x.FillBytes(make([]byte, 8*n)))
	return w
}

// scratch is the working memory of one private operation (12 KiB of
// tables), pooled.
type scratch struct {
	t   [2][tableSize]nat52
	acc pair
	x   pair
	y   pair
}

// toMont sets s.x to c (a number of up to 2,080 bits as 40 digits: lo, hi)
// in Montgomery form modulo each half: c = hi·2^1040 + lo, so
// c·R = lo·R + hi·R·R (R = 2^1040), each term below 2m, the sum below 4m.
func (h *halves) toMont(k *kernel, s *scratch, lo, hi *nat52) {
	a := pair{*lo, *lo}
	k.amm2(&s.x, &a, &h.rr, &h.m, &h.k0)
	a = pair{*hi, *hi}
	k.amm2(&s.y, &a, &h.rr, &h.m, &h.k0)
	k.amm2(&s.y, &s.y, &h.rr, &h.m, &h.k0)
	add(&s.x[0], &s.x[0], &s.y[0])
	add(&s.x[1], &s.x[1], &s.y[1])
}

// exp sets out[i] = x[i]^d[i] mod m[i] (fully reduced, out of Montgomery
// form) for x = s.x in Montgomery form, with a fixed window: the same
// squarings, multiplications and table reads whatever the exponents.
func (h *halves) exp(k *kernel, s *scratch, out *pair) {
	s.t[0][0], s.t[1][0] = h.one[0], h.one[1]
	s.t[0][1], s.t[1][1] = s.x[0], s.x[1]
	for i := 2; i < tableSize; i++ {
		s.acc = pair{s.t[0][i-1], s.t[1][i-1]}
		k.amm2(&s.acc, &s.acc, &s.x, &h.m, &h.k0)
		s.t[0][i], s.t[1][i] = s.acc[0], s.acc[1]
	}
	pos := expBits - window
	k.sel(&s.acc[0], &s.t[0], win(&h.d[0], pos))
	k.sel(&s.acc[1], &s.t[1], win(&h.d[1], pos))
	for pos -= window; pos >= 0; pos -= window {
		for range window {
			k.amm2(&s.acc, &s.acc, &s.acc, &h.m, &h.k0)
		}
		k.sel(&s.y[0], &s.t[0], win(&h.d[0], pos))
		k.sel(&s.y[1], &s.t[1], win(&h.d[1], pos))
		k.amm2(&s.acc, &s.acc, &s.y, &h.m, &h.k0)
	}
	k.amm2(out, &s.acc, &h.unit, &h.m, &h.k0)
	reduceOnce(&out[0], &h.m[0])
	reduceOnce(&out[1], &h.m[1])
}

// win returns the window bits pos..pos+4 of d. pos is public; the bits
// are not, and only index the constant-time table read.
func win(d *[17]uint64, pos int) uint64 {
	k, s := pos/64, uint(pos%64)
	v := d[k] >> s
	if s > 64-window {
		v |= d[k+1] << (64 - s)
	}
	return v & (tableSize - 1)
}

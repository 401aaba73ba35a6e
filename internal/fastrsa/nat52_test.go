package fastrsa

import (
	"bytes"
	"crypto/rand"
	"math/big"
	mrand "math/rand/v2"
	"slices"
	"testing"
)

type namedKernel struct {
	name string
	*kernel
}

// kernels are the kernels this machine runs: the Go reference first, and
// the AVX-512 IFMA assembly if the CPU has it.
func kernels() []namedKernel {
	ks := []namedKernel{{"go", &goKernel}}
	if ifmaKernel != nil {
		ks = append(ks, namedKernel{"ifma", ifmaKernel})
	}
	return ks
}

func toBig(x *nat52) *big.Int {
	var w [17]uint64
	to64(w[:], x)
	b := make([]byte, 8*len(w))
	toBE(b, w[:])
	return new(big.Int).SetBytes(b)
}

func fromBig(x *big.Int) *nat52 {
	var z nat52
	from64(&z, words(x, 17))
	return &z
}

// testHalves makes two random 1,024-bit primes' constants.
func testHalves(t testing.TB) (*halves, [2]*big.Int) {
	t.Helper()
	var ms [2]*big.Int
	for i := range ms {
		p, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = p
	}
	return newHalves(ms[0], ms[1], big.NewInt(3), big.NewInt(5)), ms
}

// randBelow returns a random number below bound.
func randBelow(t testing.TB, bound *big.Int) *big.Int {
	x, err := rand.Int(rand.Reader, bound)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestConvert: from64 and to64 are inverse on 1,040-bit numbers, and
// digits are below 2^52.
func TestConvert(t *testing.T) {
	top := new(big.Int).Lsh(big.NewInt(1), 1040)
	for range 100 {
		x := randBelow(t, top)
		n := fromBig(x)
		for i, d := range n {
			if d > mask52 || i >= digits && d != 0 {
				t.Fatalf("digit %d = %#x", i, d)
			}
		}
		if got := toBig(n); got.Cmp(x) != 0 {
			t.Fatalf("round trip of %x gave %x", x, got)
		}
	}
}

// TestAMM: each kernel's result is a·b·2^-1040 mod m, below 2m, for a and b
// below 4m (what exponentiation feeds it) and a up to 2^1040 - 1 with b
// below m (what the conversion into Montgomery form feeds it), and the
// kernels agree digit for digit.
func TestAMM(t *testing.T) {
	h, ms := testHalves(t)
	rinv := [2]*big.Int{}
	r := new(big.Int).Lsh(big.NewInt(1), 1040)
	for i, m := range ms {
		rinv[i] = new(big.Int).ModInverse(r, m)
	}
	top := new(big.Int).Sub(r, big.NewInt(1))
	for n := range 300 {
		var a, b pair
		var ab [2][2]*big.Int
		for i, m := range ms {
			m4 := new(big.Int).Lsh(m, 2)
			switch n % 4 {
			case 0:
				ab[i] = [2]*big.Int{randBelow(t, m4), randBelow(t, m4)}
			case 1:
				ab[i] = [2]*big.Int{randBelow(t, r), randBelow(t, m)}
			case 2: // extremes
				ab[i] = [2]*big.Int{top, new(big.Int).Sub(m, big.NewInt(1))}
			case 3:
				ab[i] = [2]*big.Int{new(big.Int).Sub(m4, big.NewInt(1)), new(big.Int).Sub(m4, big.NewInt(1))}
			}
			a[i], b[i] = *fromBig(ab[i][0]), *fromBig(ab[i][1])
		}
		var want pair
		for _, k := range kernels() {
			name := k.name
			var res pair
			k.amm2(&res, &a, &b, &h.m, &h.k0)
			for i, m := range ms {
				got := toBig(&res[i])
				exp := new(big.Int).Mul(ab[i][0], ab[i][1])
				exp.Mul(exp, rinv[i]).Mod(exp, m)
				if new(big.Int).Mod(got, m).Cmp(exp) != 0 || got.Cmp(new(big.Int).Lsh(m, 1)) >= 0 {
					t.Fatalf("%s: case %d half %d: got %x, want %x (mod m, below 2m)", name, n, i, got, exp)
				}
				for j, d := range res[i] {
					if d > mask52 || j >= digits && d != 0 {
						t.Fatalf("%s: digit %d = %#x", name, j, d)
					}
				}
			}
			if name == "go" {
				want = res
			} else if res != want {
				t.Fatalf("case %d: %s kernel %x, Go %x", n, name, res, want)
			}
		}
	}
}

// TestAMMAliased: the result may be written over an operand (the
// exponentiation squares in place).
func TestAMMAliased(t *testing.T) {
	h, _ := testHalves(t)
	for _, k := range kernels() {
		name := k.name
		x := pair{*fromBig(big.NewInt(12345)), *fromBig(big.NewInt(678))}
		var want pair
		k.amm2(&want, &x, &x, &h.m, &h.k0)
		k.amm2(&x, &x, &x, &h.m, &h.k0)
		if x != want {
			t.Errorf("%s: squaring in place gave %x, want %x", name, x, want)
		}
	}
}

// TestSelect: every kernel returns the entry asked for.
func TestSelect(t *testing.T) {
	var table [tableSize]nat52
	for i := range table {
		for j := range digits {
			table[i][j] = mrand.Uint64() & mask52
		}
	}
	for _, k := range kernels() {
		name := k.name
		for i := range table {
			var out nat52
			k.sel(&out, &table, uint64(i))
			if out != table[i] {
				t.Fatalf("%s: entry %d: got %x", name, i, out)
			}
		}
	}
}

// TestExp: both halves' exponentiation matches math/big for random bases
// and exponents, and for the edge ones (0, 1, all ones).
func TestExp(t *testing.T) {
	_, ms := testHalves(t)
	top := new(big.Int).Lsh(big.NewInt(1), 1024)
	allOnes := new(big.Int).Sub(top, big.NewInt(1))
	for n := range 12 {
		var ds [2]*big.Int
		for i := range ds {
			switch n {
			case 0:
				ds[i] = big.NewInt(0)
			case 1:
				ds[i] = big.NewInt(1)
			case 2:
				ds[i] = allOnes
			default:
				ds[i] = randBelow(t, top)
			}
		}
		h := newHalves(ms[0], ms[1], ds[0], ds[1])
		c := randBelow(t, new(big.Int).Lsh(big.NewInt(1), 2048))
		for _, k := range kernels() {
			name := k.name
			var s scratch
			var w [40]uint64
			copy(w[:], words(c, 32))
			var lo, hi nat52
			split(&lo, &hi, &w)
			h.toMont(k.kernel, &s, &lo, &hi)
			var out pair
			h.exp(k.kernel, &s, &out)
			for i, m := range ms {
				want := new(big.Int).Exp(c, ds[i], m)
				if got := toBig(&out[i]); got.Cmp(want) != 0 {
					t.Fatalf("%s: case %d half %d: got %x, want %x", name, n, i, got, want)
				}
			}
		}
	}
}

// FuzzAMM: for operands cut from the input (a below 2^1040, b below m, and
// both below 4m), every kernel's product is a·b·2^-1040 mod m below 2m, the
// same digits in every kernel.
func FuzzAMM(f *testing.F) {
	f.Add([]byte{1}, []byte{2})
	f.Add(bytes.Repeat([]byte{0xff}, 130), bytes.Repeat([]byte{0xff}, 130))
	h, ms := testHalves(f)
	r := new(big.Int).Lsh(big.NewInt(1), 1040)
	f.Fuzz(func(t *testing.T, x, y []byte) {
		a0 := new(big.Int).Mod(new(big.Int).SetBytes(x), r)
		var a, b pair
		var want [2]*big.Int
		for i, m := range ms {
			b0 := new(big.Int).Mod(new(big.Int).SetBytes(y), m)
			if len(y)%2 == 1 { // both below 4m instead
				m4 := new(big.Int).Lsh(m, 2)
				a0, b0 = new(big.Int).Mod(a0, m4), new(big.Int).Mod(new(big.Int).SetBytes(y), m4)
			}
			a[i], b[i] = *fromBig(a0), *fromBig(b0)
			want[i] = new(big.Int).Mul(a0, b0)
			want[i].Mul(want[i], new(big.Int).ModInverse(r, m)).Mod(want[i], m)
		}
		var first pair
		for n, k := range kernels() {
			var res pair
			k.amm2(&res, &a, &b, &h.m, &h.k0)
			for i, m := range ms {
				got := toBig(&res[i])
				if new(big.Int).Mod(got, m).Cmp(want[i]) != 0 || got.Cmp(new(big.Int).Lsh(m, 1)) >= 0 {
					t.Fatalf("%s half %d: got %x, want %x mod m below 2m", k.name, i, got, want[i])
				}
			}
			if n == 0 {
				first = res
			} else if res != first {
				t.Fatalf("%s kernel differs from Go's", k.name)
			}
		}
	})
}

// TestExpSchedule: the exponentiation makes the same kernel calls, in the
// same order, and reads the table at the same points, whatever the
// exponents and the base: only the values differ (the window bits go to
// the table read, which reads every entry).
func TestExpSchedule(t *testing.T) {
	_, ms := testHalves(t)
	trace := func(d0, d1 *big.Int, c uint64) []string {
		var calls []string
		k := &kernel{
			amm2: func(res, a, b, m *pair, k0 *[2]uint64) {
				calls = append(calls, "amm2")
				amm2Go(res, a, b, m, k0)
			},
			sel: func(out *nat52, table *[tableSize]nat52, idx uint64) {
				calls = append(calls, "sel")
				selectGo(out, table, idx)
			},
		}
		h := newHalves(ms[0], ms[1], d0, d1)
		var s scratch
		lo := nat52{c}
		h.toMont(k, &s, &lo, &nat52{})
		var out pair
		h.exp(k, &s, &out)
		return calls
	}
	top := new(big.Int).Lsh(big.NewInt(1), 1024)
	want := trace(big.NewInt(0), big.NewInt(1), 2)
	for _, c := range []struct{ d0, d1 *big.Int }{
		{new(big.Int).Sub(top, big.NewInt(1)), big.NewInt(65537)},
		{randBelow(t, top), randBelow(t, top)},
	} {
		if got := trace(c.d0, c.d1, 12345); !slices.Equal(got, want) {
			t.Fatalf("%d kernel calls for one exponent pair, %d for another", len(got), len(want))
		}
	}
	if n := len(want); n < 1000 {
		t.Fatalf("only %d kernel calls traced", n)
	}
}

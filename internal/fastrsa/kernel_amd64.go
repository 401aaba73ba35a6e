//go:build amd64 && !purego

package fastrsa

import "golang.org/x/sys/cpu"

// ifmaKernel is the AVX-512 IFMA kernel (kernel_amd64.s), nil if the CPU
// or the OS lacks what it needs.
var ifmaKernel = func() *kernel {
	x := cpu.X86
	if !x.HasAVX512F || !x.HasAVX512VL || !x.HasAVX512IFMA || !x.HasBMI2 {
		return nil
	}
	return &kernel{amm2: amm2IFMA, sel: selectIFMA}
}()

// amm2IFMA is amm2Go in AVX-512 IFMA: both halves interleaved, 20 rounds
// of 24 multiply-adds of 8 lanes each.
//
//go:noescape
func amm2IFMA(res, a, b, m *pair, k0 *[2]uint64)

// selectIFMA is selectGo: every entry read, the wanted one kept by a mask.
//
//go:noescape
func selectIFMA(out *nat52, table *[tableSize]nat52, idx uint64)

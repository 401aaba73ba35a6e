//go:build !amd64 || purego

package fastrsa

// ifmaKernel is nil: no AVX-512 IFMA kernel on this architecture.
var ifmaKernel *kernel

//go:build amd64 && !purego

#include "textflag.h"

// Almost Montgomery multiplication of two 20-digit numbers in radix 2^52,
// both halves of a key at once (see ammGo for the arithmetic). Per half:
// a in three ZMM registers, m in three, the accumulator in three (24
// lanes, lanes 20-23 zero throughout); digit 0 of the accumulator is kept
// exactly in a general register (acc), where y = acc·k0 mod 2^52 is made.
// Each round i, per half:
//	acc += a[0]·b[i]; y = acc·k0 & mask52; acc += m[0]·y; acc >>= 52
//	R += lo52(a·b[i]) + lo52(m·y)        (8 lanes per instruction)
//	R >>= one lane                      (lane 0, now 0 mod 2^52, drops)
//	acc += R[0]
//	R += hi52(a·b[i]) + hi52(m·y)        (the high halves of lane j belong
//	                                     one lane up: after the shift, in j)
// R[0] then double-counts what acc already holds; it is never read again
// but replaced by acc at the end, when the lanes' carries are propagated.
//
// Registers: AX mask52, CX k0, DI a, SI b (advancing), R8 m, R11 round
// counter, R9 acc of p, BX acc of q, DX/R10/R12/R13 scratch.
// Half p: a Z1-Z3, m Z4-Z6, R Z7-Z9, b[i] Z10, y Z11.
// Half q: a Z12-Z14, m Z15-Z17, R Z18-Z20, b[i] Z21, y Z22. Z0 is zero.

#define ROUND(OFF, ACC, K0, A0, A1, A2, M0, M1, M2, R0, R1, R2, XR0, B, Y) \
	MOVQ         OFF(SI), R13  \
	VPBROADCASTQ R13, B        \
	MOVQ         OFF(DI), DX   \
	MULXQ        R13, R13, R12 \
	ADDQ         R13, ACC      \
	MOVQ         R12, R10      \
	ADCQ         $0, R10       \
	MOVQ         K0(CX), R13   \
	IMULQ        ACC, R13      \
	ANDQ         AX, R13       \
	VPBROADCASTQ R13, Y        \
	MOVQ         OFF(R8), DX   \
	MULXQ        R13, R13, R12 \
	ADDQ         R13, ACC      \
	ADCQ         R12, R10      \
	SHRQ         $52, ACC      \
	SHLQ         $12, R10      \
	ORQ          R10, ACC      \
	VPMADD52LUQ  A0, B, R0     \
	VPMADD52LUQ  A1, B, R1     \
	VPMADD52LUQ  A2, B, R2     \
	VPMADD52LUQ  M0, Y, R0     \
	VPMADD52LUQ  M1, Y, R1     \
	VPMADD52LUQ  M2, Y, R2     \
	VALIGNQ      $1, R0, R1, R0 \
	VALIGNQ      $1, R1, R2, R1 \
	VALIGNQ      $1, R2, Z0, R2 \
	VMOVQ        XR0, R13      \
	ADDQ         R13, ACC      \
	VPMADD52HUQ  A0, B, R0     \
	VPMADD52HUQ  A1, B, R1     \
	VPMADD52HUQ  A2, B, R2     \
	VPMADD52HUQ  M0, Y, R0     \
	VPMADD52HUQ  M1, Y, R1     \
	VPMADD52HUQ  M2, Y, R2

// NORM propagates the carry R12 into digit OFF of the result at DI.
#define NORM(OFF) \
	MOVQ OFF(DI), R13 \
	ADDQ R12, R13     \
	MOVQ R13, R12     \
	ANDQ AX, R13      \
	SHRQ $52, R12     \
	MOVQ R13, OFF(DI)

#define NORM20(B) \
	XORQ R12, R12 \
	NORM(B+0)     \
	NORM(B+8)     \
	NORM(B+16)    \
	NORM(B+24)    \
	NORM(B+32)    \
	NORM(B+40)    \
	NORM(B+48)    \
	NORM(B+56)    \
	NORM(B+64)    \
	NORM(B+72)    \
	NORM(B+80)    \
	NORM(B+88)    \
	NORM(B+96)    \
	NORM(B+104)   \
	NORM(B+112)   \
	NORM(B+120)   \
	NORM(B+128)   \
	NORM(B+136)   \
	NORM(B+144)   \
	NORM(B+152)

// func amm2IFMA(res, a, b, m *pair, k0 *[2]uint64)
TEXT ·amm2IFMA(SB), NOSPLIT, $0-40
	MOVQ a+8(FP), DI
	MOVQ b+16(FP), SI
	MOVQ m+24(FP), R8
	MOVQ k0+32(FP), CX
	MOVQ $0xfffffffffffff, AX

	VPXORQ    Z0, Z0, Z0
	VMOVDQU64 0(DI), Z1
	VMOVDQU64 64(DI), Z2
	VMOVDQU64 128(DI), Z3
	VMOVDQU64 0(R8), Z4
	VMOVDQU64 64(R8), Z5
	VMOVDQU64 128(R8), Z6
	VMOVDQU64 192(DI), Z12
	VMOVDQU64 256(DI), Z13
	VMOVDQU64 320(DI), Z14
	VMOVDQU64 192(R8), Z15
	VMOVDQU64 256(R8), Z16
	VMOVDQU64 320(R8), Z17
	VPXORQ    Z7, Z7, Z7
	VPXORQ    Z8, Z8, Z8
	VPXORQ    Z9, Z9, Z9
	VPXORQ    Z18, Z18, Z18
	VPXORQ    Z19, Z19, Z19
	VPXORQ    Z20, Z20, Z20
	XORQ      R9, R9
	XORQ      BX, BX
	MOVQ      $20, R11

loop:
	ROUND(0, R9, 0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, X7, Z10, Z11)
	ROUND(192, BX, 8, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, X18, Z21, Z22)
	ADDQ $8, SI
	DECQ R11
	JNZ  loop

	MOVQ      res+0(FP), DI
	VMOVDQU64 Z7, 0(DI)
	VMOVDQU64 Z8, 64(DI)
	VMOVDQU64 Z9, 128(DI)
	VMOVDQU64 Z18, 192(DI)
	VMOVDQU64 Z19, 256(DI)
	VMOVDQU64 Z20, 320(DI)
	MOVQ      R9, 0(DI)
	MOVQ      BX, 192(DI)
	VZEROUPPER
	NORM20(0)
	NORM20(192)
	RET

// func selectIFMA(out *nat52, table *[32]nat52, idx uint64)
TEXT ·selectIFMA(SB), NOSPLIT, $0-24
	MOVQ         out+0(FP), DI
	MOVQ         table+8(FP), SI
	MOVQ         idx+16(FP), AX
	VPBROADCASTQ AX, Z0
	MOVQ         $1, AX
	VPBROADCASTQ AX, Z5
	VPXORQ       Z1, Z1, Z1
	VPXORQ       Z2, Z2, Z2
	VPXORQ       Z3, Z3, Z3
	VPXORQ       Z4, Z4, Z4
	MOVQ         $32, CX

sel:
	VMOVDQU64 0(SI), Z6
	VMOVDQU64 64(SI), Z7
	VMOVDQU64 128(SI), Z8
	VPCMPEQQ  Z4, Z0, K1
	VPBLENDMQ Z6, Z1, K1, Z1
	VPBLENDMQ Z7, Z2, K1, Z2
	VPBLENDMQ Z8, Z3, K1, Z3
	VPADDQ    Z5, Z4, Z4
	ADDQ      $192, SI
	DECQ      CX
	JNZ       sel

	VMOVDQU64 Z1, 0(DI)
	VMOVDQU64 Z2, 64(DI)
	VMOVDQU64 Z3, 128(DI)
	VZEROUPPER
	RET

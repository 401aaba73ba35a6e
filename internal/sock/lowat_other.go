//go:build !linux && !darwin

package sock

// optNotSentLowat is zero where the system has no TCP_NOTSENT_LOWAT:
// Buffers.NotSent is then ignored.
const optNotSentLowat = 0

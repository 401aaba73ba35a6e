//go:build linux || darwin

package sock

import "golang.org/x/sys/unix"

// optNotSentLowat is TCP_NOTSENT_LOWAT, which Linux and macOS have.
const optNotSentLowat = unix.TCP_NOTSENT_LOWAT

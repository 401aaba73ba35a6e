//go:build darwin || netbsd || openbsd || dragonfly

package sock

import "golang.org/x/sys/unix"

// optReusePort is the option that lets several listeners share a port.
const optReusePort = unix.SO_REUSEPORT

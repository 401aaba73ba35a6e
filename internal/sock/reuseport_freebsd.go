package sock

import "golang.org/x/sys/unix"

// optReusePort is SO_REUSEPORT_LB on FreeBSD: plain SO_REUSEPORT there lets
// listeners share a port but does not spread connections between them.
const optReusePort = unix.SO_REUSEPORT_LB

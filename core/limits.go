package core

import (
	"net/netip"
	"time"

	"wsproxy/internal/limit"
)

// connLimiter is the process's limit.Limiter (nil without limits: admits
// everything). Accept and the handshake call its Admit and Handshake;
// release is the name under which conn.go's close calls Release.
type connLimiter struct{ *limit.Limiter }

func (lm connLimiter) release(ip netip.Addr, now time.Time) { lm.Release(ip, now) }

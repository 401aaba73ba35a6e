package core

import (
	"net/netip"
	"time"

	"wsproxy/codec"
	"wsproxy/internal/limit"
)

// connLimiter is the process's limit.Limiter (nil without limits: admits
// everything). Accept and the handshake call its Admit and Handshake;
// release is the name under which conn.go's close calls Release.
type connLimiter struct{ *limit.Limiter }

func (lm connLimiter) release(ip netip.Addr, now time.Time) { lm.Release(ip, now) }

// originAllowed checks an Origin header against a route's allowlist:
// "https://app.example.com" matches exactly (case-insensitively),
// "*.example.com" matches any scheme and any subdomain.
func originAllowed(list []string, origin []byte) bool {
	if len(list) == 0 {
		return true
	}
	host := origin
	for i := 0; i+2 < len(origin); i++ {
		if origin[i] == ':' && origin[i+1] == '/' && origin[i+2] == '/' {
			host = origin[i+3:]
			break
		}
	}
	for _, o := range list {
		if len(o) > 2 && o[0] == '*' && o[1] == '.' {
			h := stripPort(host)
			if len(h) > len(o)-1 && codec.EqualFold(h[len(h)-len(o)+1:], o[1:]) {
				return true
			}
			continue
		}
		if codec.EqualFold(origin, o) {
			return true
		}
	}
	return false
}

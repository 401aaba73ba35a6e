package routing

import "wsproxy/codec"

// OriginAllowed checks an Origin header against a route's allowlist:
// "https://app.example.com" matches exactly (case-insensitively),
// "*.example.com" matches any scheme and any subdomain. An empty list
// allows every origin, a missing one (nil) included.
func OriginAllowed(list []string, origin []byte) bool {
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

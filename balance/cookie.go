package balance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// cookieSticky honours a cookie, inserted by the proxy, that names the
// server of an earlier response (HAProxy's "cookie … insert", Caddy's
// lb_policy cookie). The value is opaque and signed: the first 128 bits of
// HMAC-SHA256(CookieSecret, domain || Addr), base64url, 22 characters. It
// reveals no address, and no server can be named without the secret;
// verifying is one map lookup of the precomputed values, since a value
// either is exactly one of them or is rejected.
//
// The scheme is stateless: every worker and instance with the same secret
// and servers computes the same values, so a cookie issued by one is
// honoured by all. Changing the secret or a server's Addr re-homes its
// clients once.
//
// A request with no cookie, a value that matches no server (tampered,
// another secret, a removed server), or one naming a server that is down,
// full, or a backup while a primary is available, goes to the fallback
// policy; Pool.NeedsCookie then tells the core to insert the new cookie.
type cookieSticky struct {
	name     string
	fallback Selector
}

// cookieValueLen is the length of every cookie value: 16 bytes in base64url.
const cookieValueLen = 22

// cookieDomain separates these MACs from any other use of the secret.
const cookieDomain = "wsproxy balance cookie v1\x00"

// Select implements Selector.
func (c *cookieSticky) Select(p *Pool, r Request, now time.Time) *Server {
	if v := r.Cookie(c.name); len(v) == cookieValueLen {
		// string(v) in a map index does not allocate.
		if s, ok := p.byCookie[string(v)]; ok && p.eligible(s, now.UnixNano()) {
			return s
		}
	}
	return c.fallback.Select(p, r, now)
}

// cookieValue is the cookie value naming addr.
func cookieValue(secret []byte, addr string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(cookieDomain))
	m.Write([]byte(addr))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// setCookieValue is the Set-Cookie header value inserting value. A session
// cookie on the whole site: HttpOnly as scripts have no use for it, and
// SameSite=Lax so that it follows top-level navigation but not cross-site
// subrequests.
func setCookieValue(name, value string, secure bool) string {
	v := name + "=" + value + "; Path=/; HttpOnly; SameSite=Lax"
	if secure {
		v += "; Secure"
	}
	return v
}

// CookieValue returns the cookie value that names s, or "" unless the
// pool's policy is cookie.
func (p *Pool) CookieValue(s *Server) string { return p.cookies[s].value }

// SetCookie returns the value of the Set-Cookie header that pins a client
// to s, such as "wsproxy_srv=…; Path=/; HttpOnly; SameSite=Lax", or ""
// unless the pool's policy is cookie. The core appends it to the response
// head when NeedsCookie says so; the string is computed once by NewPool.
func (p *Pool) SetCookie(s *Server) string { return p.cookies[s].setCookie }

// NeedsCookie reports whether the response to r, served by s, must insert
// the cookie: the policy is cookie and r does not already carry the value
// naming s. A server the pool does not have (removed by Update) gets no
// cookie. It does not allocate.
func (p *Pool) NeedsCookie(r Request, s *Server) bool {
	if p.byCookie == nil {
		return false
	}
	c, ok := p.cookies[s]
	return ok && string(r.Cookie(p.cfg.CookieName)) != c.value
}

// serverCookie is what policy cookie computes once per server.
type serverCookie struct {
	value     string // the cookie value naming the server
	setCookie string // the whole Set-Cookie header value
}

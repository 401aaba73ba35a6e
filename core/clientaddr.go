package core

import (
	"wsproxy/codec"
	"wsproxy/internal/limit"
)

// onProxyHeader reads the PROXY protocol header a listener with
// proxy_protocol expects first. The client address it names replaces the
// socket's peer for everything that follows (X-Real-IP, hashing, limits).
// A connection without a valid header is closed: answering HTTP to what
// may be a balancer's garbage would only hide the misconfiguration.
func (c *conn) onProxyHeader(data []byte) (int, bool) {
	n, src, _, err := codec.ParseProxyHeader(data)
	if err == codec.ErrShort {
		if len(data) > 536 { // v2 header limit with TLVs is larger, but we read no TLVs
			c.close()
		}
		return 0, false
	}
	if err != nil {
		if c.cl.l.srv != nil {
			c.cl.l.srv.logf("client %s: PROXY protocol: %v", c.peer(), err)
		}
		c.close()
		return 0, false
	}
	if src.IsValid() {
		c.setPeer(src)
	}
	c.flags &^= cfProxyHeader
	c.admitConn()
	return n, true
}

// admitConn counts the connection against the limits and remembers what
// its first request must be answered if a limit is exceeded.
func (c *conn) admitConn() {
	srv := c.cl.l.srv
	c.flags |= cfAdmitted
	switch srv.limit.Admit(c.peerAddr, srv.stats.open.Load()) {
	case limit.ErrOverloaded:
		c.flags |= cfOverloaded
	case limit.ErrTooManyConns:
		c.flags |= cfTooManyConns
	}
}

package core

import (
	"wsproxy/codec"
	"wsproxy/internal/answer"
)

// acceptUpgrade checks the upstream's 101 against what the client offered
// (codec.ValidateUpgradeResponse: Sec-WebSocket-Accept, Upgrade, the
// subprotocol and extensions) and records the negotiated extensions for
// the tunnel's frame checks. A 101 that fails is answered 502 and the
// upstream closed; it reports false then.
//
// nginx and HAProxy pass any 101 on: a backend answering with a wrong
// Accept, an unoffered subprotocol or an extension the client never
// offered leaves the client to fail the connection, and the proxy to
// relay frames it cannot check (RSV bits of an extension it was not told
// about).
func (c *conn) acceptUpgrade(resp *codec.Response) bool {
	ext, err := codec.ValidateUpgradeResponse(resp, &c.x.offer)
	if err != nil {
		c.fail(&answer.HandshakeError{Err: err})
		return false
	}
	if ext&codec.ExtDeflate != 0 {
		c.flags |= cfExtDeflate
	}
	if ext&codec.ExtUnknown != 0 {
		c.flags |= cfExtUnknown
		if s := c.cl.l.srv; s != nil && s.unknownExtLogged.CompareAndSwap(false, true) {
			s.log.Debug("websocket extension unknown to the proxy: its RSV bits are not checked (logged once)",
				"client", c.peer().String(), "extensions", string(headerValue(resp.Headers, "Sec-WebSocket-Extensions")))
		}
	}
	return true
}

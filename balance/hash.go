package balance

import "time"

// keyHash pins the value of a request header, cookie or query parameter
// (Config.HashKey), or the client address, to a server by weighted
// rendezvous hashing (see the package doc). Equal values reach the same
// server on every loop, worker process and instance.
//
// A request without the key is hashed on its client address, so that a
// client that has not got its key yet still lands somewhere stable. Note
// that this is not necessarily where its key will send it later: hashing
// on "cookie:io" cannot keep a Socket.IO handshake and its follow-ups
// together, as the cookie does not exist yet at the handshake. Policy sid
// exists for that.
type keyHash struct {
	src  keySource
	name string
	ip   ipHash
}

// Select implements Selector.
func (h *keyHash) Select(p *Pool, r Request, now time.Time) *Server {
	var key []byte
	switch h.src {
	case keyHeader:
		key = r.Header(h.name)
	case keyCookie:
		key = r.Cookie(h.name)
	case keyQuery:
		key = r.Query(h.name)
	}
	if len(key) == 0 {
		return h.ip.Select(p, r, now)
	}
	return p.rendezvous(hashBytes(key), now.UnixNano())
}

package core

import (
	"net/netip"

	"github.com/valyala/bytebufferpool"

	"wsproxy/codec"
)

// exchange is the state of one HTTP request/response on a connection: where
// each body ends, buffers that exist only while a response head or an
// Engine.IO handshake is incomplete, and how many servers were tried. It is
// taken from the loop's free list when a request head arrives and returned
// when the response ends or the connection becomes a tunnel, so an idle
// keep-alive connection and an established WebSocket do not carry it.
type exchange struct {
	req, resp codec.BodyScanner
	uin       *bytebufferpool.ByteBuffer // partial upstream response head
	retry     *bytebufferpool.ByteBuffer // request head kept while a reused upstream may still fail; later the start of a response body searched for an Engine.IO sid
	wsOffer   *bytebufferpool.ByteBuffer // a WebSocket handshake's key, subprotocols and extensions (offer aliases it)
	offer     codec.Offer                // what the client offered, to check the 101 against
	client    netip.Addr                 // the request's client address, for a policy that picks again (redial)
	tries     uint8                      // servers tried for this request
	next      *exchange                  // free list link
}

// beginExchange gives c a fresh exchange.
func (c *conn) beginExchange() {
	if c.x != nil {
		c.x.reset()
		return
	}
	l := c.cl.l
	if x := l.freeX; x != nil {
		l.freeX, x.next = x.next, nil
		l.nfreeX--
		c.x = x
		return
	}
	c.x = &exchange{}
}

// endExchange returns c's exchange, and its buffers, to the loop.
func (c *conn) endExchange() {
	x := c.x
	if x == nil {
		return
	}
	c.x = nil
	x.reset()
	l := c.cl.l
	if l.nfreeX < maxFreeExchanges {
		x.next, l.freeX = l.freeX, x
		l.nfreeX++
	}
}

// maxFreeExchanges bounds the loop's free list: enough for the requests in
// flight at once, not one per connection ever seen.
const maxFreeExchanges = 1024

func (x *exchange) reset() {
	for _, b := range []**bytebufferpool.ByteBuffer{&x.uin, &x.retry, &x.wsOffer} {
		if *b != nil {
			bytebufferpool.Put(*b)
			*b = nil
		}
	}
	x.req, x.resp, x.client, x.tries, x.offer = codec.BodyScanner{}, codec.BodyScanner{}, netip.Addr{}, 0, codec.Offer{}
}

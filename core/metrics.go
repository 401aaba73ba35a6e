package core

import "github.com/gobwas/ws"

// Hooks called by the relay for observability. Directions: 0 client →
// upstream, 1 upstream → client. They run on the loop's goroutine, on the
// hot path: keep them to a few loop-owned or atomic increments.

// noteFrame is called for every frame header that passes through a tunnel.
func (c *conn) noteFrame(d int, h ws.Header) {}

// noteBytes is called with the number of tunnel bytes relayed in direction d.
func (c *conn) noteBytes(d int, n int) {}

// noteClose is called when a Close frame's status code is seen in direction
// d (0 when the Close carried no code); by the proxy's own Close frames too.
func (c *conn) noteClose(d int, code ws.StatusCode) {}

// Package core wires the reactor, the codec and the balancer into a WebSocket
// and HTTP/1.1 reverse proxy.
//
// # Loops
//
// A Server runs one Loop per core. Each Loop owns a poller, one shared read
// buffer, a timer wheel and its own SO_REUSEPORT listener, so the kernel spreads
// accepted connections over the loops. A client connection and the upstream
// connection serving it live on the same Loop and are touched only by that
// Loop's goroutine; nothing a Loop owns takes a lock. Other goroutines reach a
// Loop only through Loop.Submit (its wake-up queue).
//
// # Buffers
//
// Bytes are read into the Loop's shared buffer and, when the other side takes
// them at once, written straight out of it: an idle or well-behaved connection
// holds no buffer. A connection takes a pooled buffer (bytebufferpool) only
// while bytes wait: a partial request head, a pipelined request, or output the
// peer's socket could not take. As soon as one side has output waiting, the
// Loop stops reading the other side (back-pressure), so each direction holds at
// most one read's worth of bytes (Limits.MaxPendingBytes).
//
// # Lifecycle of a proxied connection
//
//	state        entered when                       leaves to               timer
//	stHead       accept; a response completed      stDial/stSend, error    header_read
//	stDial       route and server chosen            stSend, 502/504         connect
//	stSend       connected (request body flowing)   stWait                  read
//	stWait       request sent, awaiting response    stResp, stTunnel, 502   read
//	stResp       response head forwarded            stHead (keep-alive), closed   read
//	stTunnel     upstream answered 101              closed (both sides EOF, error, idle)   idle
//	stClosing    an error reply or "Connection: close"  closed once output is flushed
//
// Plain HTTP requests on one client connection are routed one at a time; a
// pipelined request waits in the client's input buffer until the response to
// the previous one is complete. Upstream connections whose response ended
// cleanly are parked per server in the Loop's idle pool and reused.
//
// After a 101 the relay stays frame-aware: a codec.FrameScanner per direction
// follows frame boundaries while payload bytes pass untouched.
//
// Errors map to answers in one place (errors.go): malformed head 400, head too
// large 431, no route 404, upstream refused 502, connect timeout 504. Each
// closes only the connection concerned.
package core

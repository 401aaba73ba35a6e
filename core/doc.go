// Package core wires the reactor, the codec and the balancer into a WebSocket
// and HTTP/1.1 reverse proxy.
//
// # Loops
//
// A Server runs one Loop per core. Each Loop embeds an internal/reactor
// Loop by value (poller, descriptor table, shared read buffer, timer wheel,
// wake-up queue) and owns its own SO_REUSEPORT listener (bound by the
// Server, or handed down by a master: Options.Listeners), so the kernel
// spreads accepted connections over the loops. A client connection and the
// upstream connection serving it live on the same Loop and are touched only
// by that Loop's goroutine; nothing a Loop owns takes a lock. Other
// goroutines reach a Loop only through Loop.Submit (its wake-up queue).
//
// A tunnel may change loops (gather.go): while the procs governor runs the
// process on one P, the other loops hand their tunnels to the first
// at a frame boundary, and once the Ps are back the first hands out all
// but its share. It leaves one loop's poller and timer wheel and joins the
// other's by that loop's goroutine, its sockets open all along; a drain, a
// hand-over or Close freezes the loops first.
//
// # What core keeps, and what it leans on
//
// core holds what lives with connections and loops: the state machine,
// the relay, dialling, draining, hand-over of tunnels. Pure parts with no
// connection state live below it, each a package that must not import
// core: internal/forward writes the heads passed on, internal/answer maps
// a failure to the client's answer, internal/wspolicy compiles a route's
// WebSocket policy, internal/closerule names why the proxy closed a
// tunnel, internal/tlsconf builds the TLS listeners' configuration; and
// internal/routing, internal/upstreams, internal/reload, internal/limit,
// internal/realip, internal/certs, internal/tickets, internal/handover
// (DEVELOPERS.md draws the layers).
//
// # The path of one client frame in a tunnel
//
//	reactor.Loop.Run → Loop.prefetch (prefetch.go)    a batch of several readable
//	                                                   tunnels: read ahead in one call
//	  → endpoint.OnEvent (conn.go)                    the client socket is readable
//	  → conn.onTunnel → conn.pump(toUpstream)         (tunnel.go) splice, the bytes
//	                                                   read ahead, or a read, once
//	    → conn.relay (relay.go)                        frame scanner: header, payload
//	      → conn.onFrame (protocol.go)                 RFC 6455 checks with the extensions
//	                                                   the 101 negotiated, max_frame,
//	                                                   max_message, pings, Close payload
//	                                                   (a split Close held: closehold.go)
//	      → endpoint.write (endpoint.go)               the loop's send batch (a small
//	                                                   write), reactor.Socket: to the
//	                                                   upstream socket, or queued
//	                                                   (back-pressure)
//	  → conn.tunnelInterest                           poller interest for both sides
//	reactor.Loop.between → Loop.flushPrefetched,      bytes read ahead that no pump took;
//	  reactor.Sends.Flush                             the cycle's small writes, in one
//	                                                   call (endpoint.Sent: what a socket
//	                                                   did not take is queued)
//
// The other direction is the same with toClient. The HTTP state machine
// (http.go, response.go, upstream.go) is not consulted once the 101 is
// through.
//
// # Buffers
//
// Bytes are read into the Loop's shared buffer and, when the other side takes
// them at once, written straight out of it: an idle or well-behaved connection
// holds no buffer. A connection takes a pooled buffer (bytebufferpool) only
// while bytes wait: a partial request head, a pipelined request, output the
// peer's socket could not take, or, under check_frames, a Close frame split
// across reads, held (at most 132 bytes a direction) until its payload is
// whole and checked so that no invalid Close goes out in part
// (closehold.go). As soon as one side has output waiting, the
// Loop stops reading the other side (back-pressure), so each direction holds at
// most one read's worth of bytes (Limits.MaxPendingBytes). In the kernel, every
// socket has TCP_NOTSENT_LOWAT set (notsent_lowat of the listener and the
// upstream, 128 KiB by default): a peer that stops reading stops the proxy's
// writes after that many unsent bytes, not after tcp_wmem's 4 MB; rcvbuf and
// sndbuf, when set, fix the rest. On Linux the
// payload of large data frames in a plain-TCP tunnel skips the buffer and
// goes from socket to socket by splice(2) through a pipe of the Loop's
// small pool, held only while spliced bytes wait (splice.go).
//
// # Lifecycle of a proxied connection
//
//	state      entered when                            leaves to                          timer
//	(accept)   listener accepts; PROXY header if any   stHead                             header_read
//	stHead     accept, or a response completed         stSend/stWait; 4xx/5xx → stClosing header_read, then keepalive
//	stSend     head routed, server picked, request     stWait once the body is forwarded  connect while dialling, then read
//	           head queued (dial or idle-pool reuse)
//	stWait     request forwarded, awaiting response    stResp, stTunnel (101), 502/504    read
//	stResp     response head forwarded                 stHead (keep-alive), stClosing     read
//	stTunnel   upstream answered 101                   closed (both EOF, error, idle,     idle (data frames), pings,
//	                                                   drain Close 1001, policy Close)    half-close, going-away grace
//	stClosing  an error answer or Connection: close    lingering once output is flushed,  linger (5 s), then 5 s
//	                                                   then closed (linger.go)             between reads, 30 s in all
//
// On Linux a listener defers accept until the client's first bytes
// (TCP_DEFER_ACCEPT): listener.serve reads them in the same pass as the
// accept, and a connection that sends nothing reaches no state above until
// the kernel hands it over without data.
//
// A connect that fails before any byte reached a backend is retried on
// another server of the upstream (the head is parsed again from the queued
// bytes so sticky policies see the same request). A request on a reused
// idle-pool connection that fails before any response byte is retried once
// on a fresh connection when it had no body and its method is idempotent
// (RFC 9110 §9.2.2); any other gets 502, never a second run.
//
// # What is forwarded
//
// A request head is parsed, validated (codec.ValidateRequest) and its path
// normalised (codec.NormalizePath) before it is routed; the head sent
// upstream is written from that parse (internal/forward, from http.go):
// the normalised path as the route rewrites it, Host (an absolute-form
// target's authority wins), one Content-Length or Transfer-Encoding:
// chunked from the parsed framing, then the client's other fields less
// hop-by-hop ones, fields named in Connection, and names with "_" (unless
// underscores_in_headers), then X-Real-IP, X-Forwarded-For,
// X-Forwarded-Proto and Forwarded. Host and framing are never copied, so
// no Connection token can remove them and the backend frames the body
// exactly as the proxy does. A response head is validated
// (codec.ValidateResponse: 502 when its framing is ambiguous) and written
// the same way (response.go, internal/forward).
//
// After a final answer the client connection lingers (linger.go): write
// side shut, input read into the loop's buffer and discarded until the
// client closes or a bound is reached, so the answer is not destroyed by a
// reset. Such a connection holds no buffer and counts against the limits.
//
// The state one HTTP exchange needs (body framing of request and response,
// a partial response head, retry bytes, servers tried) lives in an exchange
// from the Loop's free list, attached at the request head and returned when
// the response ends or the 101 arrives: an idle keep-alive client and an
// established tunnel do not carry it.
//
// Plain HTTP requests on one client connection are routed one at a time; a
// pipelined request waits in the client's input buffer until the response to
// the previous one is complete. Upstream connections whose response ended
// cleanly are parked per server in the Loop's idle pool and reused.
//
// After a 101 the relay stays frame-aware: a codec.FrameScanner per
// direction follows frame boundaries while payload bytes pass untouched
// (relay.go). Per frame header it applies the route's policy
// (internal/wspolicy, applied in protocol.go): RFC 6455 checks → Close
// 1002, max_frame/max_message → Close 1009 to the sender and 1001 to the
// receiver; it swallows the Pongs to the proxy's own Pings (ping.go) and
// counts frames, bytes and close codes (metrics.go). The proxy's own Close
// frames (goaway.go) are written only at frame boundaries, their reason
// the rule that fired (internal/closerule).
//
// Errors map to answers in one place (internal/answer): malformed head
// 400, head too large 431, no route 404, origin not allowed 403, limits
// 429/503, unknown transfer coding 501, upstream refused or invalid
// response 502, timeouts 504/408. Each closes only the connection
// concerned.
//
// # TLS
//
// A listener with a tls section terminates TLS with crypto/tls (tls.go;
// internal/tlsconf builds its tls.Config, certificates and session
// tickets; internal/tlsloop runs it on the loop, with the endpoint as its
// Host in tls_conn.go). The client endpoint's read and write pass through
// a tls.Conn; everything above them sees plaintext and does not know. The
// handshake starts once the client's whole ClientHello is in (until then
// the loop only keeps its bytes) and runs in a short-lived goroutine, fed
// ciphertext by the loop; after it the loop drives tls.Conn itself and no
// goroutine is left. At most 4×GOMAXPROCS goroutines work at once (the
// rest wait in their loop); one waiting for its peer's bytes holds no
// slot, so stalled peers delay nobody. While the handshake lasts the
// connection is in stHead and header_read bounds it.
// ReloadCertificates swaps the certificates for new handshakes only.
// Upstream servers with tls: true get the same machinery in the client
// direction: the handshake starts when the connect completes, and the
// request written meanwhile waits in plaintext (counted as pending, so
// back-pressure holds) until it ends. crypto/tls keeps its input buffers
// (the record buffer, grown to the largest record seen, and the handshake
// buffer) for the life of a connection; the loop drops them once empty,
// after the handshake and from its once-a-second housekeeper, so an idle
// wss connection holds about 3.5 KB of heap rather than 7 (internal/tlstrim,
// tls_trim.go).
package core

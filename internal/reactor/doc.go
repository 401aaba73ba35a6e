// Package reactor is wsproxy's event loop: a poller, the descriptors
// registered with it and their handlers, a shared read buffer, a timing
// wheel, a wake-up queue for other goroutines, listeners that accept on it,
// and the lazy output buffer every socket written from a loop uses. It
// knows descriptors, readiness and bytes; nothing of HTTP, WebSocket or
// balancing (a test keeps its imports to poller, internal/timer and
// internal/sock).
//
// A Loop's state is touched only by the goroutine running Run. Other
// goroutines reach it only through Submit; the loop's own goroutine defers
// work past the current events with Later, which needs no wake-up. A
// program embeds Loop by value
// in its own per-loop state (core's loop, the echo backend's), so a
// handler reaches both with one pointer.
//
// # Lifecycle of a descriptor
//
//	Register(fd, h, ev)   h.OnEvent(ev) for each readiness event, on the loop
//	Modify(fd, ev)        new interest (drop Readable: back-pressure)
//	Unregister(fd)        no more events; the caller closes fd
//	Stop                  Run calls OnStop, then Shutdown on every handler
//	                      that has it, closes what is still registered and
//	                      returns
//
// # Output
//
// Socket holds a socket's pending output: nil until a write finds the socket
// full, then a pooled buffer (bytebufferpool) until it drains. An idle
// connection holds none.
package reactor

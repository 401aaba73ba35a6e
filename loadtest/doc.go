// Package loadtest opens many WebSocket client connections to one URL and
// drives them with a workload, to find out how many connections a server
// (normally wsproxy) holds and how it behaves while holding them.
//
// # Process model
//
// Connections live on the package's own event loops (poller + internal/sock
// + internal/timer), not on goroutines: a loop is one goroutine with an
// epoll set, a timing wheel and shared read and write buffers, and an idle
// connection costs a few hundred bytes and one descriptor. A process may
// hold at most 20,000 open files, so a run of more than
// Config.MaxPerProcess connections (default 9,000) is spread over child
// processes: the running binary is started again as
//
//	os.Args[0] loadtest -child '<JSON config>'
//
// with ChildEnv set. The child runs its share with Run and speaks a line
// protocol (child.go): JSON snapshots, "ready" and the final tally on
// stdout; "start" and "stop" on stdin. The parent merges the tallies, HDR
// histograms included, so percentiles are of all connections together.
//
// # Phases of a run
//
//	ramp   dial Config.Conns at Config.Rate; each connection handshakes
//	       and makes one verified echo round trip, then counts as up
//	ready  every connection is up or failed: Config.OnReady is called
//	run    the workload for Config.Duration (hold, echo or bulk)
//	close  a close frame on every connection, then a short wait
//
// The Reconnect workload (wss:// only, reconnect.go) has phases of its
// own: every client connects once (ramp, a full TLS handshake), OnReady,
// then each reconnects Config.Reconnects times resuming its TLS session
// (run). It runs on goroutines with blocking I/O, not on the loops.
//
// # Lifecycle of one connection
//
//	state      entered when                        leaves for
//	dialing    sock.Connect returned               handshake, or failed
//	handshake  the socket became writable (OK)     verify, or failed
//	verify     a valid 101 arrived                 up, or failed
//	up         the first echo came back intact     closing, or dropped
//	closing    the run ended; close frame sent     closed
//	closed     the descriptor is released          -
//
// The handshake timeout (Config.Timeout) runs from the dial to the end of
// the first echo. Anything that ends a connection before it is up counts
// as failed, afterwards (until the close phase) as dropped, each with a
// short reason such as "refused", "timeout", "reset" or "bad status 503".
//
// # Payloads
//
// Every message payload is pseudo-random, generated from a per-message
// seed by a counter-based generator (payload.go), so any byte of it can be
// regenerated from its offset. A connection therefore keeps no copy of
// what it sent: it rebuilds unwritten frame bytes when the socket becomes
// writable again and checks echoed bytes as they arrive, in any split.
package loadtest

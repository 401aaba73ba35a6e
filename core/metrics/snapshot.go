// Package metrics holds a proxy process's counters, live (Counters: per
// loop, by route and server name; core's hooks add to them) and read into
// a Snapshot, plain values that core fills (core's Server.Metrics), a master
// sums over its workers (Merge, after a trip through JSON) and the admin
// listener turns into Prometheus metrics. It imports nothing of wsproxy, so
// the operator side reads the proxy's counters without depending on the
// proxy. The JSON field names are the format of the snapshots workers send
// their master: renaming one breaks a master running beside workers of
// another build during an upgrade.
package metrics

// Snapshot is a proxy process's counters at one moment, summed over its
// loops (core's Server.Metrics). It is plain data: safe to keep, compare, encode as JSON and Merge
// with the snapshots of other processes (the workers of a master).
//
// Counters only grow while a process lives; gauges (ConnectionsOpen,
// RouteMetrics.TunnelsOpen, ServerMetrics.Up) say how things are now.
type Snapshot struct {
	// Processes is the number of processes summed: 1 from core's
	// Server.Metrics.
	Processes int `json:"processes"`

	// ConnectionsAccepted counts client connections accepted;
	// ConnectionsOpen those open now.
	ConnectionsAccepted uint64 `json:"connections_accepted"`
	ConnectionsOpen     int64  `json:"connections_open"`

	// TLSHandshakeErrors counts TLS clients closed before their handshake
	// completed (plain HTTP on a TLS port, failed or stalled handshakes).
	TLSHandshakeErrors uint64 `json:"tls_handshake_errors"`

	// TunnelsMoved counts tunnels handed from one event loop of a process
	// to another (core's gather.go).
	TunnelsMoved uint64 `json:"tunnels_moved"`

	// Routes are in the router's order (most specific first), then the
	// entry named UnroutedName for requests no route took.
	Routes []RouteMetrics `json:"routes"`

	// Servers are the upstream servers, by upstream name, then in config
	// order.
	Servers []ServerMetrics `json:"servers"`

	// WebSocket counts what passed through tunnels.
	WebSocket WebSocketMetrics `json:"websocket"`

	// DNS describes the upstreams whose servers come from DNS
	// (servers_from), by upstream name.
	DNS []DNSMetrics `json:"dns,omitempty"`

	// Handover counts the tunnels moved between workers when a new
	// generation starts.
	Handover Handover `json:"handover"`
}

// Handover counts the WebSocket tunnels handed from an old worker to a new
// one when a new generation starts (internal/handover). All are counters.
type Handover struct {
	// Sent counts the tunnels old workers handed over, and Kept those
	// they still held when their hand-over ended (TLS, closing, inside a
	// frame for the whole window, refused): those drain as before. A
	// master counts both from its old workers' answers; a worker reports
	// neither.
	Sent uint64 `json:"sent"`
	Kept uint64 `json:"kept"`

	// Received counts the tunnels a worker took from an old one, and
	// Refused those it left there because they would have taken it past
	// its open-files limit.
	Received uint64 `json:"received"`
	Refused  uint64 `json:"refused"`
}

// Add adds o to h.
func (h *Handover) Add(o Handover) {
	h.Sent += o.Sent
	h.Kept += o.Kept
	h.Received += o.Received
	h.Refused += o.Refused
}

// DNSMetrics describes the resolution of one upstream's servers_from.
type DNSMetrics struct {
	Upstream string `json:"upstream"`

	// Resolutions counts resolutions by result, keyed by the names of
	// DNSResults.
	Resolutions map[string]uint64 `json:"resolutions"`

	// Servers is the size of the set the last good answer gave, summed
	// over the Processes reporting it (each worker resolves on its own).
	Servers   int `json:"servers"`
	Processes int `json:"processes"`
}

// DNSResults are the keys of DNSMetrics.Resolutions, the results of a
// resolution (internal/dnsup's, which a core test keeps equal): ok (at
// least one server), empty (no usable record), nxdomain, servfail,
// timeout, error (refused, another rcode, a network error). Every one but
// ok keeps the last good set. The admin listener exports each of them.
var DNSResults = [...]string{"ok", "empty", "nxdomain", "servfail", "timeout", "error"}

// UnroutedName is the RouteMetrics.Route (and Upstream) of requests that
// were answered before a route took them: malformed, too large, timed out,
// over a limit, or matching no route.
const UnroutedName = "(none)"

// RouteMetrics counts the requests of one route.
type RouteMetrics struct {
	// Route is the route's host and path prefix as configured
	// ("ws.example.com/chat", "/"); Upstream is the upstream it sends to.
	Route    string `json:"route"`
	Upstream string `json:"upstream"`

	// Requests counts plain HTTP requests (not WebSocket handshakes) by
	// the status class of their answer, whether it came from the upstream
	// or from the proxy (502, 504, …).
	Requests StatusClasses `json:"requests"`

	// Handshakes counts WebSocket handshakes by result.
	Handshakes Handshakes `json:"handshakes"`

	// TunnelsOpen is the number of WebSocket tunnels open now.
	TunnelsOpen int64 `json:"tunnels_open"`
}

// StatusClasses counts answers by HTTP status class: [2] counts 2xx, [5]
// 5xx; [0] counts statuses outside 100..599.
type StatusClasses [6]uint64

// Handshakes counts WebSocket opening handshakes by result.
type Handshakes struct {
	Upgraded uint64 `json:"upgraded"` // the upstream answered 101: a tunnel opened
	Rejected uint64 `json:"rejected"` // the upstream answered with another status
	Failed   uint64 `json:"failed"`   // the proxy answered 4xx/5xx itself
}

// ServerMetrics describes one upstream server.
type ServerMetrics struct {
	Upstream string `json:"upstream"`
	Server   string `json:"server"` // its address as configured

	// Up is the number of processes that consider the server healthy
	// (active and passive health checks; at max_conns or not), out of
	// Processes reporting it.
	Up        int `json:"up"`
	Processes int `json:"processes"`

	// ConnectErrors counts connects that failed or timed out.
	ConnectErrors uint64 `json:"connect_errors"`

	// Connect is the latency of successful connects.
	Connect Histogram `json:"connect"`
}

// Histogram counts observations in buckets.
type Histogram struct {
	Bounds []float64 `json:"bounds"` // upper bounds in seconds, ascending
	Counts []uint64  `json:"counts"` // per bucket, not cumulative; len(Bounds)+1, the last one unbounded
	Sum    float64   `json:"sum"`    // of all observations, in seconds
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for _, c := range h.Counts {
		n += c
	}
	return n
}

// WebSocketMetrics counts tunnel traffic. Arrays by direction: [0] client
// to upstream, [1] upstream to client (see DirectionNames).
type WebSocketMetrics struct {
	Bytes      [2]uint64        `json:"bytes"`    // bytes relayed, frame headers included
	Messages   [2]uint64        `json:"messages"` // data messages (a fragmented one counts once)
	ClosedBy   ClosedBy         `json:"closed_by"`
	CloseCodes []CloseCodeCount `json:"close_codes"` // by direction, then code

	// ProxyCloses counts the tunnels the proxy closed on its own, by the
	// rule that fired (CloseReasons lists the keys): a frame that broke
	// the route's policy, the idle timeout, a dead peer, a drain.
	ProxyCloses map[string]uint64 `json:"proxy_closes,omitempty"`
}

// DirectionNames name the directions of WebSocketMetrics, as in metric
// labels and log lines.
var DirectionNames = [2]string{"to_upstream", "to_client"}

// CloseReasons are the keys of WebSocketMetrics.ProxyCloses: the labels of
// the rules by which the proxy closes a tunnel on its own, in core's order
// of its rules (a core test keeps the two lists equal). The admin listener
// exports every one of them, zero or not.
var CloseReasons = [...]string{
	"idle_timeout", "ping_timeout", "drain", "server_drained", "server_removed",
	"max_frame", "max_message", "reserved_opcode", "rsv_without_extension", "rsv1_placement",
	"unmasked_client_frame", "masked_server_frame", "control_too_long", "control_fragmented",
	"close_length", "frame_length", "continuation_expected", "continuation_unexpected",
	"close_code", "close_reason",
}

// ClosedBy counts closed tunnels by the side that ended them: the sender
// of the first Close frame or, without one, the first end of stream; the
// proxy for idle timeouts, draining, protocol violations and socket errors.
type ClosedBy struct {
	Client   uint64 `json:"client"`
	Upstream uint64 `json:"upstream"`
	Proxy    uint64 `json:"proxy"`
}

// CloseCodeCount counts the Close frames of one code in one direction,
// the proxy's own included. Code 1005 is a Close without a code; Code -1
// counts codes beyond the distinct ones a process keeps apart (32 per
// direction and loop).
type CloseCodeCount struct {
	Direction int    `json:"direction"`
	Code      int    `json:"code"`
	Count     uint64 `json:"count"`
}

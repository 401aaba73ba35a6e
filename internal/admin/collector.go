package admin

import (
	"strconv"

	"wsproxy/core/metrics"
)

// Metric names, all prefixed "wsproxy_". README.md (Operations) lists them.
var (
	descProcesses = newDesc("wsproxy_processes",
		"Proxy processes whose counters are summed here: 1, or the workers that answered.", typeGauge)
	descAccepted = newDesc("wsproxy_connections_accepted_total",
		"Client connections accepted.", typeCounter)
	descOpen = newDesc("wsproxy_connections_open",
		"Client connections open.", typeGauge)
	descTLSErrors = newDesc("wsproxy_tls_handshake_errors_total",
		"TLS clients closed before their handshake completed (plain HTTP on a TLS port, failed or stalled handshakes).", typeCounter)
	descMoved = newDesc("wsproxy_tunnels_moved_total",
		"Tunnels handed from one event loop of a process to another: gathered on one loop while the process runs on one P, spread again when it gets its Ps back.", typeCounter)
	descRequests = newDesc("wsproxy_http_requests_total",
		"Plain HTTP requests (not WebSocket handshakes) by route and status class of the answer, from the upstream or the proxy.", typeCounter, "route", "upstream", "code")
	descHandshakes = newDesc("wsproxy_websocket_handshakes_total",
		"WebSocket handshakes by result: upgraded (101), rejected (the upstream answered another status), failed (the proxy answered 4xx/5xx).", typeCounter, "route", "upstream", "result")
	descTunnels = newDesc("wsproxy_websocket_tunnels_open",
		"WebSocket tunnels open.", typeGauge, "route", "upstream")
	descBytes = newDesc("wsproxy_websocket_bytes_total",
		"Bytes relayed through WebSocket tunnels, frame headers included.", typeCounter, "direction")
	descMessages = newDesc("wsproxy_websocket_messages_total",
		"WebSocket data messages relayed (a fragmented message counts once).", typeCounter, "direction")
	descCloseCodes = newDesc("wsproxy_websocket_close_codes_total",
		"WebSocket Close frames by direction and status code (1005: no code; other: codes beyond those kept apart), the proxy's own included.", typeCounter, "direction", "code")
	descClosedBy = newDesc("wsproxy_websocket_tunnels_closed_total",
		"WebSocket tunnels closed, by the side that ended them.", typeCounter, "closed_by")
	descProxyCloses = newDesc("wsproxy_websocket_proxy_closes_total",
		"WebSocket tunnels the proxy closed on its own, by the rule that fired: a frame that broke the route's policy (RFC 6455 checks, max_frame, max_message), the idle timeout, a peer that did not answer a Ping, a drain.", typeCounter, "reason")
	descHandedOver = newDesc("wsproxy_tunnels_handed_over_total",
		"WebSocket tunnels old workers handed to the new generation without closing them.", typeCounter)
	descHandoverKept = newDesc("wsproxy_tunnels_handover_kept_total",
		"WebSocket tunnels old workers still held when their hand-over ended (TLS, closing, inside a frame, refused): they drain.", typeCounter)
	descReceived = newDesc("wsproxy_tunnels_received_total",
		"WebSocket tunnels workers took over from the previous generation.", typeCounter)
	descHandoverRefused = newDesc("wsproxy_tunnels_handover_refused_total",
		"WebSocket tunnels workers refused to take over: they would have passed the open-files limit.", typeCounter)
	descServerUp = newDesc("wsproxy_upstream_server_up",
		"1 if every process considers the upstream server available (health and passive checks), else 0.", typeGauge, "upstream", "server")
	descConnectErrors = newDesc("wsproxy_upstream_connect_errors_total",
		"Connects to the upstream server that failed or timed out.", typeCounter, "upstream", "server")
	descConnect = newDesc("wsproxy_upstream_connect_duration_seconds",
		"Time to establish a TCP connection to the upstream server.", typeHistogram, "upstream", "server")
	descDNSResolutions = newDesc("wsproxy_dns_resolutions_total",
		"Resolutions of an upstream's servers_from by result: ok, or empty, nxdomain, servfail, timeout, error, each of which keeps the last good set.", typeCounter, "upstream", "result")
	descDNSServers = newDesc("wsproxy_dns_servers",
		"Servers of an upstream in the set the last good DNS answer gave, averaged over the processes (each resolves on its own; a fraction says they disagree for a moment).", typeGauge, "upstream")
)

var statusClassNames = [len(metrics.StatusClasses{})]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// gatherSnapshot adds the proxy's counters, a metrics.Snapshot taken at
// each scrape.
func gatherSnapshot(snapshot func() metrics.Snapshot) gatherer {
	return func(e *exposition) {
		m := snapshot()
		counter := func(d *desc, v uint64, labels ...string) { e.value(d, float64(v), labels...) }
		gauge := e.value
		gauge(descProcesses, float64(m.Processes))
		counter(descAccepted, m.ConnectionsAccepted)
		gauge(descOpen, float64(m.ConnectionsOpen))
		counter(descTLSErrors, m.TLSHandshakeErrors)
		counter(descMoved, m.TunnelsMoved)
		for _, r := range m.Routes {
			for class, n := range r.Requests {
				if class > 0 || n > 0 {
					counter(descRequests, n, r.Route, r.Upstream, statusClassNames[class])
				}
			}
			counter(descHandshakes, r.Handshakes.Upgraded, r.Route, r.Upstream, "upgraded")
			counter(descHandshakes, r.Handshakes.Rejected, r.Route, r.Upstream, "rejected")
			counter(descHandshakes, r.Handshakes.Failed, r.Route, r.Upstream, "failed")
			if r.Route != metrics.UnroutedName || r.TunnelsOpen > 0 { // (none): tunnels whose route a new generation lacks
				gauge(descTunnels, float64(r.TunnelsOpen), r.Route, r.Upstream)
			}
		}
		w := &m.WebSocket
		for d, dir := range metrics.DirectionNames {
			counter(descBytes, w.Bytes[d], dir)
			counter(descMessages, w.Messages[d], dir)
		}
		for _, cc := range w.CloseCodes {
			code := "other"
			if cc.Code >= 0 {
				code = strconv.Itoa(cc.Code)
			}
			counter(descCloseCodes, cc.Count, metrics.DirectionNames[cc.Direction&1], code)
		}
		counter(descClosedBy, w.ClosedBy.Client, "client")
		counter(descClosedBy, w.ClosedBy.Upstream, "upstream")
		counter(descClosedBy, w.ClosedBy.Proxy, "proxy")
		for _, reason := range metrics.CloseReasons {
			counter(descProxyCloses, w.ProxyCloses[reason], reason)
		}
		counter(descHandedOver, m.Handover.Sent)
		counter(descHandoverKept, m.Handover.Kept)
		counter(descReceived, m.Handover.Received)
		counter(descHandoverRefused, m.Handover.Refused)
		for _, s := range m.Servers {
			if s.Processes > 0 { // else only exited workers knew it
				up := 0.0
				if s.Up == s.Processes {
					up = 1
				}
				gauge(descServerUp, up, s.Upstream, s.Server)
			}
			counter(descConnectErrors, s.ConnectErrors, s.Upstream, s.Server)
			h := &s.Connect
			if len(h.Counts) != len(h.Bounds)+1 {
				continue // not a histogram this binary made
			}
			cum := make([]uint64, len(h.Bounds))
			var n uint64
			for i := range h.Bounds {
				n += h.Counts[i]
				cum[i] = n
			}
			e.histogram(descConnect, h.Count(), h.Sum, h.Bounds, cum, s.Upstream, s.Server)
		}
		for _, d := range m.DNS {
			for _, result := range metrics.DNSResults {
				counter(descDNSResolutions, d.Resolutions[result], d.Upstream, result)
			}
			if d.Processes > 0 {
				gauge(descDNSServers, float64(d.Servers)/float64(d.Processes), d.Upstream)
			}
		}
	}
}

package admin_test

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"wsproxy/core/metrics"
)

// The metrics as github.com/prometheus/client_golang exposed them before
// expose.go replaced it: this file is collector.go as it was, the
// reference TestMetricsMatchClient compares the handler's output with.
// The client is linked into this test only, not into wsproxy.
var (
	descProcesses = prometheus.NewDesc("wsproxy_processes",
		"Proxy processes whose counters are summed here: 1, or the workers that answered.", nil, nil)
	descAccepted = prometheus.NewDesc("wsproxy_connections_accepted_total",
		"Client connections accepted.", nil, nil)
	descOpen = prometheus.NewDesc("wsproxy_connections_open",
		"Client connections open.", nil, nil)
	descTLSErrors = prometheus.NewDesc("wsproxy_tls_handshake_errors_total",
		"TLS clients closed before their handshake completed (plain HTTP on a TLS port, failed or stalled handshakes).", nil, nil)
	descMoved = prometheus.NewDesc("wsproxy_tunnels_moved_total",
		"Tunnels handed from one event loop of a process to another: gathered on one loop while the process runs on one P, spread again when it gets its Ps back.", nil, nil)
	descRequests = prometheus.NewDesc("wsproxy_http_requests_total",
		"Plain HTTP requests (not WebSocket handshakes) by route and status class of the answer, from the upstream or the proxy.",
		[]string{"route", "upstream", "code"}, nil)
	descHandshakes = prometheus.NewDesc("wsproxy_websocket_handshakes_total",
		"WebSocket handshakes by result: upgraded (101), rejected (the upstream answered another status), failed (the proxy answered 4xx/5xx).",
		[]string{"route", "upstream", "result"}, nil)
	descTunnels = prometheus.NewDesc("wsproxy_websocket_tunnels_open",
		"WebSocket tunnels open.", []string{"route", "upstream"}, nil)
	descBytes = prometheus.NewDesc("wsproxy_websocket_bytes_total",
		"Bytes relayed through WebSocket tunnels, frame headers included.", []string{"direction"}, nil)
	descMessages = prometheus.NewDesc("wsproxy_websocket_messages_total",
		"WebSocket data messages relayed (a fragmented message counts once).", []string{"direction"}, nil)
	descCloseCodes = prometheus.NewDesc("wsproxy_websocket_close_codes_total",
		"WebSocket Close frames by direction and status code (1005: no code; other: codes beyond those kept apart), the proxy's own included.",
		[]string{"direction", "code"}, nil)
	descClosedBy = prometheus.NewDesc("wsproxy_websocket_tunnels_closed_total",
		"WebSocket tunnels closed, by the side that ended them.", []string{"closed_by"}, nil)
	descProxyCloses = prometheus.NewDesc("wsproxy_websocket_proxy_closes_total",
		"WebSocket tunnels the proxy closed on its own, by the rule that fired: a frame that broke the route's policy (RFC 6455 checks, max_frame, max_message), the idle timeout, a peer that did not answer a Ping, a drain.",
		[]string{"reason"}, nil)
	descHandedOver = prometheus.NewDesc("wsproxy_tunnels_handed_over_total",
		"WebSocket tunnels old workers handed to the new generation without closing them.", nil, nil)
	descHandoverKept = prometheus.NewDesc("wsproxy_tunnels_handover_kept_total",
		"WebSocket tunnels old workers still held when their hand-over ended (TLS, closing, inside a frame, refused): they drain.", nil, nil)
	descReceived = prometheus.NewDesc("wsproxy_tunnels_received_total",
		"WebSocket tunnels workers took over from the previous generation.", nil, nil)
	descHandoverRefused = prometheus.NewDesc("wsproxy_tunnels_handover_refused_total",
		"WebSocket tunnels workers refused to take over: they would have passed the open-files limit.", nil, nil)
	descServerUp = prometheus.NewDesc("wsproxy_upstream_server_up",
		"1 if every process considers the upstream server available (health and passive checks), else 0.",
		[]string{"upstream", "server"}, nil)
	descConnectErrors = prometheus.NewDesc("wsproxy_upstream_connect_errors_total",
		"Connects to the upstream server that failed or timed out.", []string{"upstream", "server"}, nil)
	descConnect = prometheus.NewDesc("wsproxy_upstream_connect_duration_seconds",
		"Time to establish a TCP connection to the upstream server.", []string{"upstream", "server"}, nil)
	descDNSResolutions = prometheus.NewDesc("wsproxy_dns_resolutions_total",
		"Resolutions of an upstream's servers_from by result: ok, or empty, nxdomain, servfail, timeout, error, each of which keeps the last good set.",
		[]string{"upstream", "result"}, nil)
	descDNSServers = prometheus.NewDesc("wsproxy_dns_servers",
		"Servers of an upstream in the set the last good DNS answer gave, averaged over the processes (each resolves on its own; a fraction says they disagree for a moment).",
		[]string{"upstream"}, nil)
)

var refStatusClassNames = [len(metrics.StatusClasses{})]string{"other", "1xx", "2xx", "3xx", "4xx", "5xx"}

// refCollector turns a metrics.Snapshot, taken at each scrape, into
// Prometheus metrics.
type refCollector struct {
	snapshot func() metrics.Snapshot
}

func (c refCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descProcesses, descAccepted, descOpen, descTLSErrors, descMoved, descRequests, descHandshakes,
		descTunnels, descBytes, descMessages, descCloseCodes, descClosedBy, descProxyCloses,
		descHandedOver, descHandoverKept, descReceived, descHandoverRefused, descServerUp, descConnectErrors, descConnect, descDNSResolutions, descDNSServers} {
		ch <- d
	}
}

func (c refCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.snapshot()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descProcesses, float64(m.Processes))
	counter(descAccepted, m.ConnectionsAccepted)
	gauge(descOpen, float64(m.ConnectionsOpen))
	counter(descTLSErrors, m.TLSHandshakeErrors)
	counter(descMoved, m.TunnelsMoved)
	for _, r := range m.Routes {
		for class, n := range r.Requests {
			if class > 0 || n > 0 {
				counter(descRequests, n, r.Route, r.Upstream, refStatusClassNames[class])
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
		buckets := make(map[float64]uint64, len(h.Bounds))
		var cum uint64
		for i, b := range h.Bounds {
			cum += h.Counts[i]
			buckets[b] = cum
		}
		ch <- prometheus.MustNewConstHistogram(descConnect, h.Count(), h.Sum, buckets, s.Upstream, s.Server)
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

// refReloads is the reloads collector as it was, over fixed counts.
type refReloads struct{ applied, generation, refused, version float64 }

var (
	descReloads = prometheus.NewDesc("wsproxy_reloads_total",
		"Configuration reloads (SIGHUP) by result: applied in place, a new generation of workers, refused (nothing changed).",
		[]string{"result"}, nil)
	descConfigVersion = prometheus.NewDesc("wsproxy_config_generation",
		"The configuration served: 1 at start, one more per reload applied in place or generation started.", nil, nil)
)

func (r refReloads) Describe(ch chan<- *prometheus.Desc) {
	ch <- descReloads
	ch <- descConfigVersion
}

func (r refReloads) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, r.applied, "applied")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, r.generation, "generation")
	ch <- prometheus.MustNewConstMetric(descReloads, prometheus.CounterValue, r.refused, "refused")
	ch <- prometheus.MustNewConstMetric(descConfigVersion, prometheus.GaugeValue, r.version)
}

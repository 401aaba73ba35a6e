package metrics

import (
	"cmp"
	"maps"
	"slices"
)

// Merge adds o to m, as a master sums its workers' snapshots. Routes,
// servers and close codes are matched by name, so processes serving
// different configurations (old and new generations during a reload) merge
// too: entries only one of them has are kept. Counters and gauges add up;
// Up and Processes of a server add up as well, so Up == Processes says that
// every process considers it available. Histograms with different bounds
// are not added: m keeps its own.
func (m *Snapshot) Merge(o *Snapshot) {
	m.Processes += o.Processes
	m.ConnectionsAccepted += o.ConnectionsAccepted
	m.ConnectionsOpen += o.ConnectionsOpen
	m.TLSHandshakeErrors += o.TLSHandshakeErrors
	m.TunnelsMoved += o.TunnelsMoved
	m.Handover.Add(o.Handover)
	for _, orm := range o.Routes {
		i := slices.IndexFunc(m.Routes, func(r RouteMetrics) bool { return r.Route == orm.Route && r.Upstream == orm.Upstream })
		if i < 0 {
			m.Routes = append(m.Routes, RouteMetrics{Route: orm.Route, Upstream: orm.Upstream})
			i = len(m.Routes) - 1
		}
		r := &m.Routes[i]
		for c := range r.Requests {
			r.Requests[c] += orm.Requests[c]
		}
		r.Handshakes.Upgraded += orm.Handshakes.Upgraded
		r.Handshakes.Rejected += orm.Handshakes.Rejected
		r.Handshakes.Failed += orm.Handshakes.Failed
		r.TunnelsOpen += orm.TunnelsOpen
	}
	for _, osm := range o.Servers {
		i := slices.IndexFunc(m.Servers, func(s ServerMetrics) bool { return s.Upstream == osm.Upstream && s.Server == osm.Server })
		if i < 0 {
			m.Servers = append(m.Servers, ServerMetrics{Upstream: osm.Upstream, Server: osm.Server})
			i = len(m.Servers) - 1
		}
		s := &m.Servers[i]
		s.Up += osm.Up
		s.Processes += osm.Processes
		s.ConnectErrors += osm.ConnectErrors
		s.Connect.merge(&osm.Connect)
	}
	for _, od := range o.DNS {
		i := slices.IndexFunc(m.DNS, func(d DNSMetrics) bool { return d.Upstream == od.Upstream })
		if i < 0 {
			m.DNS = append(m.DNS, DNSMetrics{Upstream: od.Upstream})
			i = len(m.DNS) - 1
		}
		d := &m.DNS[i]
		d.Servers += od.Servers
		d.Processes += od.Processes
		for r, n := range od.Resolutions {
			if d.Resolutions == nil {
				d.Resolutions = make(map[string]uint64)
			}
			d.Resolutions[r] += n
		}
	}
	ws, ow := &m.WebSocket, &o.WebSocket
	for d := range 2 {
		ws.Bytes[d] += ow.Bytes[d]
		ws.Messages[d] += ow.Messages[d]
	}
	ws.ClosedBy.Client += ow.ClosedBy.Client
	ws.ClosedBy.Upstream += ow.ClosedBy.Upstream
	ws.ClosedBy.Proxy += ow.ClosedBy.Proxy
	for reason, n := range ow.ProxyCloses {
		if ws.ProxyCloses == nil {
			ws.ProxyCloses = make(map[string]uint64)
		}
		ws.ProxyCloses[reason] += n
	}
	for _, oc := range ow.CloseCodes {
		i := slices.IndexFunc(ws.CloseCodes, func(c CloseCodeCount) bool { return c.Direction == oc.Direction && c.Code == oc.Code })
		if i < 0 {
			ws.CloseCodes = append(ws.CloseCodes, CloseCodeCount{Direction: oc.Direction, Code: oc.Code})
			i = len(ws.CloseCodes) - 1
		}
		ws.CloseCodes[i].Count += oc.Count
	}
	slices.SortFunc(ws.CloseCodes, func(a, b CloseCodeCount) int {
		return cmp.Or(cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.Code, b.Code))
	})
}

func (h *Histogram) merge(o *Histogram) {
	switch {
	case len(o.Counts) == 0:
	case len(h.Counts) == 0:
		h.Bounds = slices.Clone(o.Bounds)
		h.Counts = slices.Clone(o.Counts)
		h.Sum = o.Sum
	case slices.Equal(h.Bounds, o.Bounds):
		for i := range h.Counts {
			h.Counts[i] += o.Counts[i]
		}
		h.Sum += o.Sum
	}
}

// Counters returns a copy of m with every gauge zero: what a process that
// has exited still contributes to a sum of counters. A master merges it
// into the snapshots of the live workers so that its totals do not drop
// when a worker exits.
func (m *Snapshot) Counters() Snapshot {
	c := Snapshot{
		ConnectionsAccepted: m.ConnectionsAccepted,
		TLSHandshakeErrors:  m.TLSHandshakeErrors,
		TunnelsMoved:        m.TunnelsMoved,
		WebSocket:           m.WebSocket,
		Handover:            m.Handover,
	}
	c.WebSocket.CloseCodes = slices.Clone(m.WebSocket.CloseCodes)
	for _, r := range m.Routes {
		r.TunnelsOpen = 0
		c.Routes = append(c.Routes, r)
	}
	for _, d := range m.DNS {
		d.Servers, d.Processes = 0, 0
		d.Resolutions = maps.Clone(d.Resolutions)
		c.DNS = append(c.DNS, d)
	}
	for _, s := range m.Servers {
		s.Up, s.Processes = 0, 0
		s.Connect.Bounds = slices.Clone(s.Connect.Bounds)
		s.Connect.Counts = slices.Clone(s.Connect.Counts)
		c.Servers = append(c.Servers, s)
	}
	return c
}

package bench

import (
	"fmt"
	"net/netip"
)

// PerProcess is how many connections bench gives one process of each kind
// when it sizes a run: a wsproxy worker, an nginx worker, an echo backend,
// a load generator process. A proxy process needs two descriptors per
// proxied connection, so with a 20,000 file limit it could hold ~9,900;
// 9,000 leaves room for the uneven spread of SO_REUSEPORT and round robin.
const PerProcess = 9000

// PerSource is how many connections bench puts on one (source address,
// destination port) pair. Linux has ~28,000 ephemeral ports per pair
// (net.ipv4.ip_local_port_range 32768-60999), but connect() tries ports of
// one parity first (even; odd ones are left for bind), so once ~14,000 are
// taken every further connect scans the whole even half in the kernel
// first: a 100,000-connection run with 20,000 per source stalled at ~66,000
// with both CPUs in system time. 10,000 stays under the half.
const PerSource = 10000

// Sizing is how a run of Conns connections is spread over processes,
// ports and addresses. plan computes it.
type Sizing struct {
	Conns int `json:"conns"`

	// Workers is wsproxy's worker processes ("run -workers N"); 1 runs a
	// single process without a master.
	Workers int `json:"workers"`

	// NginxWorkers is nginx's worker_processes; 0 means "auto" (one per
	// CPU), which is what runs of up to PerProcess connections use.
	NginxWorkers int `json:"nginx_workers"`

	// HAProxyMax is the most connections HAProxy can relay here: it is one
	// process (threads, not workers), so (file limit - 200) / 2.
	HAProxyMax int `json:"haproxy_max"`

	// Backends is the number of echo backend processes, one port each.
	Backends int `json:"backends"`

	// Sources is the number of client source addresses, 127.0.0.1 up.
	Sources int `json:"sources"`

	// LoadProcs is the load generator's processes: 1 (the bench process)
	// or loadtest children of at most PerProcess connections each.
	LoadProcs int `json:"load_procs"`

	// Scale is set past PerProcess connections: the proxies then balance
	// round robin instead of by client address (see balance) and nginx
	// listens with reuseport.
	Scale bool `json:"scale"`
}

// plan sizes a run of conns connections with a file limit of files per
// process. workers, backends and sources are what the user asked for; 0
// means "as many as needed". It returns an error that shows the arithmetic
// when a size asked for cannot carry conns.
func plan(conns, files, workers, backends, sources int) (Sizing, error) {
	s := Sizing{Conns: conns, Scale: conns > PerProcess}
	each := maxProxied(files)
	if each < 1 {
		return s, fmt.Errorf("bench: an open file limit of %d leaves no room for proxied connections (%d are reserved per process)", files, fdReserve)
	}
	s.Workers = workers
	if s.Workers == 0 {
		s.Workers = ceilDiv(conns, PerProcess)
	}
	if per := ceilDiv(conns, s.Workers); per > each {
		return s, fmt.Errorf("bench: %d connections over %d wsproxy worker(s) is %d per worker, but one process can relay at most "+
			"(%d open files − %d reserved) / 2 descriptors per proxied connection = %d; "+
			"use -workers %d or more (the default, ceil(%d / %d) = %d, leaves room for an uneven spread)",
			conns, s.Workers, per, files, fdReserve, each, ceilDiv(conns, each), conns, PerProcess, ceilDiv(conns, PerProcess))
	}
	if s.Scale {
		s.NginxWorkers = ceilDiv(conns, PerProcess)
	}
	s.HAProxyMax = each

	s.Backends = backends
	if s.Backends == 0 {
		s.Backends = max(3, ceilDiv(conns, PerProcess))
	}
	// A backend holds one descriptor per connection, and every proxy dials
	// it from 127.0.0.1, so each backend port is one (source, destination)
	// pair of the proxy's.
	perBackend := min(files-fdReserve, PerSource)
	if per := ceilDiv(conns, s.Backends); per > perBackend {
		return s, fmt.Errorf("bench: %d connections over %d echo backends is %d per backend, but a backend holds at most "+
			"min(%d open files − %d reserved, %d per (127.0.0.1, backend port) pair of the proxy's ephemeral ports) = %d; "+
			"use -backends %d or more, or leave -backends unset (ceil(%d / %d) = %d)",
			conns, s.Backends, per, files, fdReserve, PerSource, perBackend, ceilDiv(conns, perBackend), conns, PerProcess, max(3, ceilDiv(conns, PerProcess)))
	}

	s.Sources = sources
	if s.Sources == 0 {
		s.Sources = max(4, ceilDiv(conns, PerSource))
	}
	if s.Sources > 254 {
		return s, fmt.Errorf("bench: %d connections need %d source addresses at %d per (source, proxy port), more than 127.0.0.1-127.0.0.254",
			conns, s.Sources, PerSource)
	}
	if per := ceilDiv(conns, s.Sources); per > PerSource {
		return s, fmt.Errorf("bench: %d connections from %d source addresses is %d per (source, proxy port) pair, over the %d bench allows "+
			"(~28,000 ephemeral ports each, half of them tried first by connect); use -sources with %d addresses or more, or leave it unset",
			conns, s.Sources, per, PerSource, ceilDiv(conns, PerSource))
	}

	s.LoadProcs = 1
	if conns > PerProcess {
		s.LoadProcs = ceilDiv(conns, PerProcess)
	}
	return s, nil
}

// sourceAddrs returns 127.0.0.1 to 127.0.0.n.
func sourceAddrs(n int) []netip.Addr {
	s := make([]netip.Addr, n)
	for i := range s {
		s[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(i + 1)})
	}
	return s
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

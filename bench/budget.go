package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// SocketKernel is the kernel memory one idle TCP socket of a run costs, in
// bytes; it is in no process's RSS. Measured with 250,000 connections up
// (1,000,000 sockets; BENCHMARKS.md, "250,000"): Slab rose by 5.13 KB per
// socket and sockstat's TCP buffer "mem" stayed under 300 pages. By
// /proc/slabinfo the socket's own objects are ~3.8 KB (TCP 2,368, its
// inode 832, file 192, dentry 192, epoll item 128, LSM blobs 56); the rest
// was reclaimable proc inodes and dentries of /proc/PID/fd entries, which
// appear when something lists the descriptors. The figure is the measured
// rise rounded up, so the estimate errs high.
const SocketKernel = 5300

// socketsPerConn is how many TCP sockets one proxied connection takes on
// this machine: the load generator's, the proxy's accepted one, the proxy's
// upstream one and the echo backend's accepted one.
const socketsPerConn = 4

// Host is what bench reads of the machine to plan a run.
type Host struct {
	// PortLo and PortHi are net.ipv4.ip_local_port_range, the ephemeral
	// ports connect() picks from for each (source, destination) pair.
	PortLo, PortHi int

	// MemAvailable is /proc/meminfo's MemAvailable, in bytes.
	MemAvailable int64
}

// ports is how many ephemeral ports a (source, destination) pair has, and
// pairPorts how many bench puts on one: connect() tries ports of one parity
// first, so past half of the range every connect scans that half
// (PerSource), and never more than half.
func (h Host) ports() int     { return h.PortHi - h.PortLo + 1 }
func (h Host) pairPorts() int { return min(PerSource, h.ports()/2) }

// readHost reads the port range and the available memory from /proc.
func readHost() (Host, error) {
	var h Host
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return h, fmt.Errorf("bench: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return h, fmt.Errorf("bench: ip_local_port_range %q: want two ports", b)
	}
	if h.PortLo, err = strconv.Atoi(f[0]); err == nil {
		h.PortHi, err = strconv.Atoi(f[1])
	}
	if err != nil {
		return h, fmt.Errorf("bench: ip_local_port_range %q: %w", b, err)
	}
	m, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return h, fmt.Errorf("bench: %w", err)
	}
	if h.MemAvailable, err = parseKB(m, "MemAvailable:"); err != nil {
		return h, fmt.Errorf("bench: /proc/meminfo: %w", err)
	}
	return h, nil
}

// Role is one kind of process of a run and what each one holds.
type Role struct {
	Name  string `json:"name"`
	Procs int    `json:"procs"`
	Conns int    `json:"conns"` // connections per process, the most of any
	Files int    `json:"files"` // descriptors per process: conns × per-conn + fdReserve
}

// Hop is one leg of a proxied connection as the kernel sees its ports:
// Pairs (source address, destination address and port) pairs, each with up
// to PerPair connections, out of Ports ephemeral ports of which bench uses
// at most Usable.
type Hop struct {
	Name    string `json:"name"`
	Pairs   int    `json:"pairs"`
	PerPair int    `json:"per_pair"`
	Ports   int    `json:"ports"`
	Usable  int    `json:"usable"`
}

// Budget is a Sizing in the machine's terms: descriptors per process of
// each role, ephemeral ports per pair on each hop, and the kernel memory of
// the sockets (Sockets × SocketKernel).
type Budget struct {
	Roles       []Role `json:"roles"`
	Hops        []Hop  `json:"hops"`
	Sockets     int    `json:"sockets"`
	KernelBytes int64  `json:"kernel_bytes"`
	Available   int64  `json:"mem_available"`
}

// budget plans s on host h with a limit of files descriptors per process.
// It returns the budget and, when something is short, an error that names
// it; the budget is filled in either way, for the message.
func budget(s Sizing, files int, h Host) (Budget, error) {
	n := s.Conns
	b := Budget{
		Roles: []Role{
			{Name: "wsproxy worker", Procs: s.Workers, Conns: ceilDiv(n, s.Workers)},
			{Name: "echo backend", Procs: s.Backends, Conns: ceilDiv(n, s.Backends)},
			{Name: "load generator", Procs: s.LoadProcs, Conns: ceilDiv(n, s.LoadProcs)},
		},
		// The proxy dials its upstreams without binding a source address,
		// so its side has one pair per backend (127.0.0.1 → backend port).
		Hops: []Hop{
			{Name: "loadgen→proxy", Pairs: s.Sources, PerPair: ceilDiv(n, s.Sources)},
			{Name: "proxy→backend", Pairs: s.Backends, PerPair: ceilDiv(n, s.Backends)},
		},
		Sockets:   socketsPerConn * n,
		Available: h.MemAvailable,
	}
	b.KernelBytes = int64(b.Sockets) * SocketKernel
	b.Roles[0].Files = 2*b.Roles[0].Conns + fdReserve
	b.Roles[1].Files = b.Roles[1].Conns + fdReserve
	b.Roles[2].Files = b.Roles[2].Conns + fdReserve
	for _, r := range b.Roles {
		if r.Files > files {
			return b, fmt.Errorf("bench: short of descriptors: a %s holds %d connections = %d descriptors, over the open file limit of %d",
				r.Name, r.Conns, r.Files, files)
		}
	}
	for i := range b.Hops {
		hp := &b.Hops[i]
		hp.Ports, hp.Usable = h.ports(), h.pairPorts()
		if hp.PerPair > hp.Usable {
			flag := "-sources"
			if i == 1 {
				flag = "-backends"
			}
			return b, fmt.Errorf("bench: short of ephemeral ports on %s: %d connections over %d pairs is %d per pair, "+
				"over the %d usable of ip_local_port_range %d-%d (%d ports, half tried first by connect); use %s %d or more",
				hp.Name, n, hp.Pairs, hp.PerPair, hp.Usable, h.PortLo, h.PortHi, hp.Ports, flag, ceilDiv(n, max(hp.Usable, 1)))
		}
	}
	if b.KernelBytes > h.MemAvailable {
		return b, fmt.Errorf("bench: short of memory: %d sockets × ~%d B of kernel memory each = %s, over MemAvailable %s (and the processes' own memory comes on top)",
			b.Sockets, SocketKernel, mib(b.KernelBytes), mib(h.MemAvailable))
	}
	return b, nil
}

// String is the plan on one line per part, for the sizing: progress line.
func (b Budget) String() string {
	var w strings.Builder
	w.WriteString("plan: processes")
	for _, r := range b.Roles {
		fmt.Fprintf(&w, "; %d %s × ≤%d conns, %d fds", r.Procs, r.Name, r.Conns, r.Files)
	}
	w.WriteString("\nplan: ports")
	for _, hp := range b.Hops {
		fmt.Fprintf(&w, "; %s %d pairs × ≤%d needed, %d usable of %d", hp.Name, hp.Pairs, hp.PerPair, hp.Usable, hp.Ports)
	}
	fmt.Fprintf(&w, "\nplan: kernel memory %d sockets × ~%d B = %s (MemAvailable %s)",
		b.Sockets, SocketKernel, mib(b.KernelBytes), mib(b.Available))
	return w.String()
}

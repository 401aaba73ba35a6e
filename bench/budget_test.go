package bench

import (
	"strings"
	"testing"
)

// host is this machine's port range with plenty of memory.
var host = Host{PortLo: 32768, PortHi: 60999, MemAvailable: 23 << 30}

// TestBudget checks the plan of a sized run: descriptors per process of
// each role, connections per (source, destination) pair on each hop, and
// the kernel memory of the sockets.
func TestBudget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		conns      int
		workerFDs  int // descriptors of one wsproxy worker
		loadPair   int // connections per (source, proxy port) pair
		upPair     int // per (127.0.0.1, backend port) pair
		upPairs    int
		usable     int
		kernelMiBs int64
	}{
		{name: "5k", conns: 5000, workerFDs: 10200, loadPair: 1250, upPair: 1667, upPairs: 3, usable: 10000, kernelMiBs: 20000 * SocketKernel >> 20},
		{name: "100k", conns: 100000, workerFDs: 16868, loadPair: 10000, upPair: 8334, upPairs: 12, usable: 10000, kernelMiBs: 400000 * SocketKernel >> 20},
		{name: "250k", conns: 250000, workerFDs: 18058, loadPair: 10000, upPair: 8929, upPairs: 28, usable: 10000, kernelMiBs: 1000000 * SocketKernel >> 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := plan(tc.conns, 20000, 0, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			b, err := budget(s, 20000, host)
			if err != nil {
				t.Fatalf("budget: %v", err)
			}
			if got := b.Roles[0].Files; got != tc.workerFDs {
				t.Errorf("worker descriptors %d; want %d", got, tc.workerFDs)
			}
			if got := b.Hops[0].PerPair; got != tc.loadPair {
				t.Errorf("loadgen→proxy per pair %d; want %d", got, tc.loadPair)
			}
			if got := b.Hops[1]; got.PerPair != tc.upPair || got.Pairs != tc.upPairs || got.Usable != tc.usable || got.Ports != 28232 {
				t.Errorf("proxy→backend %+v; want %d pairs × %d, %d usable of 28232", got, tc.upPairs, tc.upPair, tc.usable)
			}
			if got := b.KernelBytes >> 20; got != tc.kernelMiBs {
				t.Errorf("kernel memory %d MiB; want %d", got, tc.kernelMiBs)
			}
		})
	}
}

// TestBudgetRefuses checks that a plan the machine cannot carry is refused
// with an error that names what is short.
func TestBudgetRefuses(t *testing.T) {
	narrow := host
	narrow.PortLo, narrow.PortHi = 50000, 59999 // 10,000 ports: 5,000 usable
	small := host
	small.MemAvailable = 1 << 30
	for _, tc := range []struct {
		name  string
		conns int
		srcs  int // -sources; 0: default
		h     Host
		files int
		want  []string
	}{
		{"ports, loadgen side", 100000, 0, narrow, 20000, []string{"ephemeral ports on loadgen→proxy", "10000 per pair", "5000 usable", "50000-59999", "-sources 20"}},
		{"ports, proxy side", 30000, 10, Host{PortLo: 1, PortHi: 14000, MemAvailable: 23 << 30}, 20000, []string{"ephemeral ports on proxy→backend", "7500 per pair", "7000 usable", "-backends 5"}},
		{"memory", 250000, 0, small, 20000, []string{"short of memory", "1000000 sockets", "MemAvailable 1024.0 MiB"}},
		{"descriptors", 9000, 0, host, 9500, []string{"short of descriptors", "wsproxy worker holds 9000 connections = 18200 descriptors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := plan(tc.conns, 20000, 0, 0, tc.srcs)
			if err != nil {
				t.Fatal(err)
			}
			_, err = budget(s, tc.files, tc.h)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("budget: %v; want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestReadHost reads this machine's port range and memory: whatever they
// are, they must parse and make sense.
func TestReadHost(t *testing.T) {
	h, err := readHost()
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if h.PortLo <= 0 || h.PortHi < h.PortLo || h.MemAvailable <= 0 {
		t.Errorf("readHost() = %+v; want a port range and some memory", h)
	}
}

// TestSizingLinePlan: the sizing progress line carries the plan: processes
// per role with descriptors, ports per pair on each hop, kernel memory.
func TestSizingLinePlan(t *testing.T) {
	s, err := plan(250000, 20000, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := budget(s, 20000, host)
	if err != nil {
		t.Fatal(err)
	}
	got := sizingLine(Config{Sources: sourceAddrs(s.Sources), size: s, plan: b})
	for _, w := range []string{
		"sizing: 250000 connections; wsproxy 28 worker(s)",
		"\nplan: processes; 28 wsproxy worker × ≤8929 conns, 18058 fds; 28 echo backend × ≤8929 conns, 9129 fds; 28 load generator",
		"\nplan: ports; loadgen→proxy 25 pairs × ≤10000 needed, 10000 usable of 28232; proxy→backend 28 pairs × ≤8929 needed",
		"\nplan: kernel memory 1000000 sockets × ~5300 B = 5054.5 MiB",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("got %q; want it to contain %q", got, w)
		}
	}
}

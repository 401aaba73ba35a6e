package bench

import (
	"strings"
	"testing"
)

// TestPlan checks how runs are spread over wsproxy workers, nginx workers,
// echo backends, source addresses and load generator processes.
func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		conns                   int
		workers, backends, srcs int // asked for; 0: default
		want                    Sizing
	}{
		{conns: 5000, want: Sizing{Conns: 5000, Workers: 1, HAProxyMax: 9900, Backends: 3, Sources: 4, LoadProcs: 1}},
		{conns: 9000, want: Sizing{Conns: 9000, Workers: 1, HAProxyMax: 9900, Backends: 3, Sources: 4, LoadProcs: 1}},
		{conns: 9001, want: Sizing{Conns: 9001, Workers: 2, NginxWorkers: 2, HAProxyMax: 9900, Backends: 3, Sources: 4, LoadProcs: 2, Scale: true}},
		{conns: 12000, want: Sizing{Conns: 12000, Workers: 2, NginxWorkers: 2, HAProxyMax: 9900, Backends: 3, Sources: 4, LoadProcs: 2, Scale: true}},
		{conns: 30000, want: Sizing{Conns: 30000, Workers: 4, NginxWorkers: 4, HAProxyMax: 9900, Backends: 4, Sources: 4, LoadProcs: 4, Scale: true}},
		{conns: 50000, want: Sizing{Conns: 50000, Workers: 6, NginxWorkers: 6, HAProxyMax: 9900, Backends: 6, Sources: 5, LoadProcs: 6, Scale: true}},
		{conns: 100000, want: Sizing{Conns: 100000, Workers: 12, NginxWorkers: 12, HAProxyMax: 9900, Backends: 12, Sources: 10, LoadProcs: 12, Scale: true}},
		{conns: 100000, workers: 11, backends: 20, srcs: 16,
			want: Sizing{Conns: 100000, Workers: 11, NginxWorkers: 12, HAProxyMax: 9900, Backends: 20, Sources: 16, LoadProcs: 12, Scale: true}},
	} {
		got, err := plan(tc.conns, 20000, tc.workers, tc.backends, tc.srcs)
		if err != nil || got != tc.want {
			t.Errorf("plan(%d, 20000, %d, %d, %d) = %+v, %v; want %+v", tc.conns, tc.workers, tc.backends, tc.srcs, got, err, tc.want)
		}
	}
}

// TestPlanRefuses checks that sizes that cannot carry the run are refused
// with the arithmetic and the flag to change.
func TestPlanRefuses(t *testing.T) {
	for _, tc := range []struct {
		conns, workers, backends, srcs int
		want                           []string
	}{
		{30000, 3, 0, 0, []string{"10000 per worker", "(20000 open files − 200 reserved) / 2", "= 9900", "-workers 4"}},
		{100000, 0, 4, 0, []string{"25000 per backend", "= 10000", "-backends 10"}},
		{100000, 0, 0, 4, []string{"25000 per (source, proxy port)", "-sources with 10"}},
		{10000000, 0, 0, 0, []string{"source addresses", "127.0.0.254"}},
	} {
		_, err := plan(tc.conns, 20000, tc.workers, tc.backends, tc.srcs)
		for _, w := range tc.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("plan(%d, 20000, %d, %d, %d): %v; want it to mention %q", tc.conns, tc.workers, tc.backends, tc.srcs, err, w)
			}
		}
	}
	if _, err := plan(1000, 150, 0, 0, 0); err == nil {
		t.Errorf("plan with a file limit of 150: no error")
	}
}

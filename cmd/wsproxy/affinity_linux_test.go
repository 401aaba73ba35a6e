package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"wsproxy/internal/affinity"
	"wsproxy/internal/testutil"
)

// TestCPUAffinity: with cpu_affinity: auto each worker binds itself, every
// thread of it, to its slot's CPU once the governor has it on one P (worker
// 0 on the first CPU the process may use, worker 1 on the second, wrapping
// around on a one-CPU machine), and the proxy still relays.
func TestCPUAffinity(t *testing.T) {
	allowed, err := affinity.Allowed()
	if err != nil || len(allowed) == 0 {
		t.Fatalf("affinity.Allowed: %v, %v", allowed, err)
	}
	cfg := writeConfig(t, "", "127.0.0.1:0", startEcho(t), "/v1", "1s", "cpu_affinity: auto\n")
	p := startProc(t, "run", "-config", cfg, "-workers", "2")
	addr := p.WaitLog(t, servingLine)[1]
	ws := p.workers(t)
	if len(ws) != 2 {
		t.Fatalf("workers: %v; want 2", ws)
	}
	for pid, name := range ws {
		_, s, _ := strings.Cut(name, ".")
		slot, _ := strconv.Atoi(s)
		want := strconv.Itoa(allowed[slot%len(allowed)])
		testutil.Eventually(t, fmt.Sprintf("worker %s (pid %d) on CPU %s", name, pid, want), func() error {
			return threadsOn(pid, want)
		})
	}
	servesPath(t, addr, "/v1/x", 3)
}

// threadsOn reports an error unless every thread of process pid may run
// on exactly the CPUs list says (/proc's Cpus_allowed_list, e.g. "1").
func threadsOn(pid int, list string) error {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("no threads of %d: %v", pid, err)
	}
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // exited
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok && strings.TrimSpace(v) != list {
				return fmt.Errorf("%s: Cpus_allowed_list %s", f, strings.TrimSpace(v))
			}
		}
	}
	return nil
}

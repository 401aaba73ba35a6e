package bench

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a run happened, for the report.
type Machine struct {
	CPUs      int       `json:"cpus"`       // runtime.NumCPU, as nproc prints
	MemTotal  int64     `json:"mem_total"`  // bytes, MemTotal of /proc/meminfo
	Kernel    string    `json:"kernel"`     // uname -r
	GoVersion string    `json:"go_version"` // of the bench binary
	FileLimit int       `json:"file_limit"` // RLIMIT_NOFILE of each process
	Date      time.Time `json:"date"`       // UTC start of the run
	// Versions are the peers' version lines ("nginx version: nginx/1.22.1").
	Versions map[string]string `json:"versions,omitempty"`
}

// machineInfo describes this machine and the given peers.
func machineInfo(files int, peers []string) Machine {
	m := Machine{
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		FileLimit: files,
		Date:      time.Now().UTC().Truncate(time.Second),
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal, _ = parseKB(b, "MemTotal:")
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	for _, p := range peers {
		flag := map[string]string{Nginx: "-v", HAProxy: "-v"}[p]
		out, _ := exec.Command(p, flag).CombinedOutput()
		if m.Versions == nil {
			m.Versions = make(map[string]string)
		}
		m.Versions[p] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return m
}

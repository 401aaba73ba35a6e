package bench

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestProcessCPU: the CPU clock of a process agrees with /proc/PID/stat,
// which rounds the same total down to clock ticks, and a process that is
// gone has none.
func TestProcessCPU(t *testing.T) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	st, err := parseStat(data)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := processCPU(os.Getpid())
	if !ok {
		t.Fatal("cannot read this process's CPU clock")
	}
	// Read after the ticks: it can only be larger, or short of them by
	// the rounding of one tick per counter (utime and stime).
	if got < st.cpu-2*time.Second/clockTicks {
		t.Errorf("CPU clock %v, /proc/self/stat %v", got, st.cpu)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("cannot run true: %v", err)
	}
	if d, ok := processCPU(cmd.Process.Pid); ok {
		t.Errorf("the CPU clock of exited process %d read %v", cmd.Process.Pid, d)
	}
}

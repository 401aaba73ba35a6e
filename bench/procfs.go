package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat. It
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// Usage is the memory and CPU of a group of processes (a proxy's master and
// workers) at one moment, summed over the processes.
type Usage struct {
	// RSS is the sum of VmRSS over the processes, in bytes. Pages shared
	// between the processes (nginx's master and workers) count once per
	// process. Kernel memory, socket buffers included, is not in RSS.
	RSS int64 `json:"rss"`

	// PSS is the sum of Pss from smaps_rollup, in bytes: shared pages are
	// divided among the processes sharing them, so the sum does not
	// double-count. Zero when smaps_rollup is unreadable.
	PSS int64 `json:"pss"`

	// Anon is the sum of Anonymous from smaps_rollup (heap, stacks), in bytes.
	Anon int64 `json:"anon"`

	// CPU is user plus system time since each process started: from
	// each process's CPU clock (nanoseconds) where it can be read, else
	// from /proc/PID/stat (10 ms ticks).
	CPU time.Duration `json:"cpu"`

	// SysCPU is the system (kernel) part of CPU.
	SysCPU time.Duration `json:"sys_cpu"`

	// Procs is how many processes were summed.
	Procs int `json:"procs"`
}

// sampleGroup sums the usage of every process in process group pgid. A
// process that exits while it is being read is skipped.
func sampleGroup(pgid int) (Usage, error) { return sampleGroupIn("/proc", pgid) }

// sampleGroupIn is sampleGroup with the proc file system at root.
func sampleGroupIn(root string, pgid int) (Usage, error) {
	pids, err := groupPIDs(root, pgid)
	if err != nil {
		return Usage{}, err
	}
	if len(pids) == 0 {
		return Usage{}, fmt.Errorf("bench: no process in group %d (did the proxy exit?)", pgid)
	}
	var u Usage
	for _, pid := range pids {
		dir := filepath.Join(root, strconv.Itoa(pid))
		status, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		rss, err := parseKB(status, "VmRSS:")
		if errors.As(err, new(noLineError)) {
			// The process exited after groupPIDs read its stat: the status
			// of a zombie, or of a process tearing down its memory, has
			// no Vm* lines. Like one already reaped, it is skipped.
			continue
		}
		if err != nil {
			return Usage{}, fmt.Errorf("bench: %s/status: %w", dir, err)
		}
		st, err := parseStat(stat)
		if err != nil {
			return Usage{}, fmt.Errorf("bench: %s/stat: %w", dir, err)
		}
		u.RSS += rss
		if root == "/proc" {
			st.cpu = exactCPU(pid, st.cpu)
		}
		u.CPU += st.cpu
		u.SysCPU += st.sys
		u.Procs++
		if roll, err := os.ReadFile(filepath.Join(dir, "smaps_rollup")); err == nil {
			pss, _ := parseKB(roll, "Pss:")
			anon, _ := parseKB(roll, "Anonymous:")
			u.PSS += pss
			u.Anon += anon
		}
	}
	return u, nil
}

// exactCPU is process pid's CPU clock, or ticks (from /proc/PID/stat)
// where that clock cannot be read.
func exactCPU(pid int, ticks time.Duration) time.Duration {
	if c, ok := processCPU(pid); ok {
		return c
	}
	return ticks
}

// parseKB finds the line starting with key in a /proc status-like file
// ("VmRSS:    8328 kB") and returns its value in bytes.
func parseKB(data []byte, key string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("malformed %q line %q", key, line)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed %q line %q", key, line)
		}
		return n << 10, nil
	}
	return 0, noLineError{key}
}

// noLineError is parseKB's error when no line starts with key.
type noLineError struct{ key string }

func (e noLineError) Error() string { return fmt.Sprintf("no %q line", e.key) }

// stat holds the fields of /proc/PID/stat that bench needs.
type stat struct {
	state      byte // R, S, D, Z (zombie), ...
	ppid, pgrp int
	cpu        time.Duration // utime + stime
	sys        time.Duration // stime
}

// parseStat parses /proc/PID/stat. The command name (field 2) is in
// parentheses and may itself contain spaces and parentheses, so fields are
// counted from the last ')'.
func parseStat(data []byte) (stat, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return stat{}, fmt.Errorf("no command name in %q", data)
	}
	// After ')': state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8)
	// flags(9) minflt(10) cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15).
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return stat{}, fmt.Errorf("%d fields after the command name; want at least 13", len(f))
	}
	var n [4]int64
	for j, k := range []int{1, 2, 11, 12} {
		v, err := strconv.ParseInt(f[k], 10, 64)
		if err != nil {
			return stat{}, fmt.Errorf("field %d: %v", k+3, err)
		}
		n[j] = v
	}
	return stat{
		state: f[0][0],
		ppid:  int(n[0]),
		pgrp:  int(n[1]),
		cpu:   time.Duration(n[2]+n[3]) * time.Second / clockTicks,
		sys:   time.Duration(n[3]) * time.Second / clockTicks,
	}, nil
}

// groupPIDs lists the live processes of process group pgid under root
// (/proc); zombies, which hold no memory, are left out.
func groupPIDs(root string, pgid int) ([]int, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		if st, err := parseStat(data); err == nil && st.pgrp == pgid && st.state != 'Z' {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// sampleLoadgen sums the usage of the load generator: this process and its
// children in its own process group (loadtest children; the proxies and
// backends run in groups of their own).
func sampleLoadgen() Usage {
	self := os.Getpid()
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return Usage{}
	}
	me, err := parseStat(data)
	if err != nil {
		return Usage{}
	}
	var u Usage
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		dir := filepath.Join("/proc", e.Name())
		data, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		st, err := parseStat(data)
		if err != nil || st.state == 'Z' || (pid != self && (st.ppid != self || st.pgrp != me.pgrp)) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(dir, "status"))
		if err != nil {
			continue
		}
		rss, _ := parseKB(status, "VmRSS:")
		u.RSS += rss
		u.CPU += exactCPU(pid, st.cpu)
		u.SysCPU += st.sys
		u.Procs++
	}
	return u
}

package admin

import (
	"bytes"
	"os"
	"strconv"
	"strings"
)

// The process_* metrics of the serving process, read from /proc/self as
// client_golang's process collector read them through prometheus/procfs
// (expose.go says why it went). A file that cannot be read or parsed
// leaves its metrics out, as the collector did.

var (
	descCPU       = newDesc("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", typeCounter)
	descOpenFDs   = newDesc("process_open_fds", "Number of open file descriptors.", typeGauge)
	descMaxFDs    = newDesc("process_max_fds", "Maximum number of open file descriptors.", typeGauge)
	descVsize     = newDesc("process_virtual_memory_bytes", "Virtual memory size in bytes.", typeGauge)
	descMaxVsize  = newDesc("process_virtual_memory_max_bytes", "Maximum amount of virtual memory available in bytes.", typeGauge)
	descRSS       = newDesc("process_resident_memory_bytes", "Resident memory size in bytes.", typeGauge)
	descStartTime = newDesc("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", typeGauge)
	descNetIn     = newDesc("process_network_receive_bytes_total", "Number of bytes received by the process over the network.", typeCounter)
	descNetOut    = newDesc("process_network_transmit_bytes_total", "Number of bytes sent by the process over the network.", typeCounter)
)

// userHZ is the unit of the times in /proc/PID/stat (procfs assumes 100).
const userHZ = 100

func gatherProcess(e *exposition) {
	proc := "/proc/" + strconv.Itoa(os.Getpid())
	if f, ok := statFields(proc + "/stat"); ok {
		utime, _ := strconv.ParseUint(f[11], 10, 64)
		stime, _ := strconv.ParseUint(f[12], 10, 64)
		start, _ := strconv.ParseUint(f[19], 10, 64)
		vsize, _ := strconv.ParseUint(f[20], 10, 64)
		rss, _ := strconv.ParseInt(f[21], 10, 64)
		e.value(descCPU, float64(utime+stime)/userHZ)
		e.value(descVsize, float64(vsize))
		e.value(descRSS, float64(int(rss)*os.Getpagesize()))
		if btime, ok := bootTime(); ok {
			e.value(descStartTime, float64(btime)+float64(start)/userHZ)
		}
	}
	if n, ok := openFDs(proc + "/fd"); ok {
		e.value(descOpenFDs, float64(n))
	}
	if files, as, ok := limits(proc + "/limits"); ok {
		e.value(descMaxFDs, float64(files))
		e.value(descMaxVsize, float64(as))
	}
	if in, out, ok := netOctets(proc + "/net/netstat"); ok {
		e.value(descNetIn, in)
		e.value(descNetOut, out)
	}
}

// statFields returns the fields of a stat file after the command name,
// the state first.
func statFields(path string) ([]string, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil, false
	}
	f := strings.Fields(string(b[i+1:]))
	return f, len(f) > 21
}

func bootTime() (uint64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// openFDs counts the open descriptors: the size of the fd directory where
// the kernel reports it (Linux 6.2 and later), else its entries.
func openFDs(dir string) (int, bool) {
	if st, err := os.Stat(dir); err == nil && st.Size() > 0 {
		return int(st.Size()), true
	}
	d, err := os.Open(dir)
	if err != nil {
		return 0, false
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	return len(names), err == nil
}

// limits returns the soft limits on open files and address space
// ("unlimited" is the largest uint64, as procfs read it).
func limits(path string) (files, as uint64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	var nf, na bool
	for line := range strings.Lines(string(b)) {
		if v, found := strings.CutPrefix(line, "Max open files "); found {
			files, nf = softLimit(v)
		} else if v, found := strings.CutPrefix(line, "Max address space "); found {
			as, na = softLimit(v)
		}
	}
	return files, as, nf && na
}

func softLimit(rest string) (uint64, bool) {
	f := strings.Fields(rest)
	if len(f) == 0 {
		return 0, false
	}
	if f[0] == "unlimited" {
		return 1<<64 - 1, true
	}
	n, err := strconv.ParseUint(f[0], 10, 64)
	return n, err == nil
}

// netOctets returns IpExt's InOctets and OutOctets of a netstat file (0
// where absent).
func netOctets(path string) (in, out float64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	lines := strings.Split(string(b), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Split(lines[i], " "), strings.Split(lines[i+1], " ")
		if len(names) != len(values) {
			return 0, 0, false
		}
		if names[0] != "IpExt:" {
			continue
		}
		for j := 1; j < len(names); j++ {
			v, err := strconv.ParseFloat(values[j], 64)
			if err != nil {
				return 0, 0, false
			}
			switch names[j] {
			case "InOctets":
				in = v
			case "OutOctets":
				out = v
			}
		}
	}
	return in, out, true
}

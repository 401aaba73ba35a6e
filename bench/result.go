package bench

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"wsproxy/loadtest"
)

// Report is the outcome of Run. In its JSON form byte counts are bytes and
// durations are nanoseconds.
type Report struct {
	Machine Machine `json:"machine"`
	// Command is the command line that produced the report, if the caller
	// set it.
	Command string `json:"command,omitempty"`
	// Size is how the run was spread over processes, ports and addresses.
	Size Sizing `json:"size"`

	// Plan is what Size costs the machine: descriptors, ephemeral ports,
	// kernel memory of the sockets.
	Plan Budget `json:"plan"`

	// TLS is Config.TLS: the proxies terminated TLS, the clients used
	// wss://; TLSKey is the certificate's key type (Config.TLSKey).
	TLS    bool   `json:"tls,omitempty"`
	TLSKey string `json:"tls_key,omitempty"`
	// Curves is Config.Curves: whether the proxies offered the same key
	// exchanges ("same") or each its own ("own"; "" in reports from before
	// the choice, which were "own").
	Curves string `json:"tls_curves,omitempty"`
	// Rate is Config.Rate: idle's connections were opened at this many
	// per second (0: as fast as possible).
	Rate   int     `json:"rate,omitempty"`
	Trials []Trial `json:"trials"`
	// Units is the proxies' CPU per unit of work and their ratios, per
	// round and the median over rounds (UnitCosts; units.go).
	Units []UnitCost `json:"units,omitempty"`
}

// Trial is one scenario run through one proxy.
type Trial struct {
	Scenario string `json:"scenario"`
	Proxy    string `json:"proxy"` // wsproxy, nginx, haproxy or direct
	Round    int    `json:"round"` // 1-based; scenarios interleave proxies per round

	// Conns is the number of connections asked for; Up of them completed
	// the handshake and a verified round trip, Failed did not; Dropped of
	// the Up closed before the end of the run. The reasons count them by
	// cause ("refused", "timeout", "reset", "bad status 503", ...).
	Conns       int            `json:"conns"`
	Up          int            `json:"up"`
	Failed      int            `json:"failed"`
	Dropped     int            `json:"dropped,omitempty"`
	FailReasons map[string]int `json:"fail_reasons,omitempty"`
	DropReasons map[string]int `json:"drop_reasons,omitempty"`

	// Before is the proxy just before the load started (after the
	// warm-up); Loaded is the proxy with the load on: for idle and ramp
	// the moment every connection was up, otherwise the end of the load.
	Before Usage `json:"before"`
	Loaded Usage `json:"loaded"`

	// BytesPerConn (idle) is (Loaded.RSS - Before.RSS) / Up, and
	// PSSPerConn the same for PSS.
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`
	PSSPerConn   float64 `json:"pss_per_conn,omitempty"`

	// ProxyCPU is the proxy's CPU time between Before and Loaded; LoadCPU
	// is the load generator's.
	ProxyCPU time.Duration `json:"proxy_cpu"`
	LoadCPU  time.Duration `json:"load_cpu"`
	// OthersCPU is the CPU time of the load generator and the echo
	// backends over the span ProxyCPU covers: with ProxyCPU, all the work
	// of the trial. ProxyCPU / (ProxyCPU + OthersCPU) is the proxy's share,
	// the most a cheaper proxy could give the others on a saturated
	// machine. (Per-process accounting: this VM's /proc/stat loses about a
	// quarter of its ticks under a syscall-heavy load.)
	OthersCPU time.Duration `json:"others_cpu,omitempty"`

	Handshake loadtest.Latency `json:"handshake"`
	RTT       loadtest.Latency `json:"rtt"`

	// HandshakesPerSec (ramp) is Up divided by the time until all were up.
	HandshakesPerSec float64 `json:"handshakes_per_sec,omitempty"`

	// CPUPerConn (idle) is ProxyCPU / Up: a connection brought up, its
	// handshake and one round trip (paced by Config.Rate or not).
	// CPUPerHandshake (ramp) is the same as fast as connections come, a
	// TLS and a WebSocket handshake with Config.TLS.
	CPUPerConn      time.Duration `json:"cpu_per_conn,omitempty"`
	CPUPerHandshake time.Duration `json:"cpu_per_handshake,omitempty"`

	// Messages is the number of round trips (echo) or messages (bulk);
	// MsgsPerSec their rate; CPUPerMsg (echo) is ProxyCPU divided by the
	// relayed messages, two per round trip.
	Messages   int64         `json:"messages,omitempty"`
	MsgsPerSec float64       `json:"msgs_per_sec,omitempty"`
	CPUPerMsg  time.Duration `json:"cpu_per_msg,omitempty"`

	// MBPerSec (bulk) is payload megabytes (10^6) per second, both ways.
	MBPerSec float64 `json:"mb_per_sec,omitempty"`
	// Bytes (echo, bulk) is the payload echoed back to the clients, each
	// byte having crossed the proxy twice; CPUPerMB (bulk) is ProxyCPU per
	// 10^6 of them, the MB of MBPerSec.
	Bytes    int64         `json:"bytes,omitempty"`
	CPUPerMB time.Duration `json:"cpu_per_mb,omitempty"`

	Resume *ResumeResult `json:"resume,omitempty"`
	Reload *ReloadResult `json:"reload,omitempty"`

	// TLSNegotiated (Config.TLS) is what one handshake of a Go client with
	// the proxy agreed, probed before the trial: "TLS 1.3, X25519, ECDSA".
	TLSNegotiated string `json:"tls_negotiated,omitempty"`

	Flood *FloodResult `json:"flood,omitempty"`

	// Curve (idle) is the proxy's RSS as the connections came up.
	Curve []Point `json:"curve,omitempty"`

	// Hold (idle) samples the proxy every HoldInterval while the
	// connections are held, from the moment all are up; HoldEnd is the
	// last sample. LoadBefore, LoadLoaded and LoadHoldEnd are the load
	// generator (the bench process and its loadtest children) at Before,
	// Loaded and HoldEnd.
	Hold         []HoldSample  `json:"hold,omitempty"`
	HoldInterval time.Duration `json:"hold_interval,omitempty"`
	HoldEnd      Usage         `json:"hold_end"`
	LoadBefore   Usage         `json:"load_before"`
	LoadLoaded   Usage         `json:"load_loaded"`
	LoadHoldEnd  Usage         `json:"load_hold_end"`

	Elapsed time.Duration `json:"elapsed"`
	Err     string        `json:"error,omitempty"`
	// Skipped says why the trial did not run (HAProxy past what one
	// process can hold); it is not a failure.
	Skipped string `json:"skipped,omitempty"`
}

// HoldSample is the proxy while idle connections are held.
type HoldSample struct {
	At      time.Duration `json:"at"` // since every connection was up
	RSS     int64         `json:"rss"`
	CPU     time.Duration `json:"cpu"`
	Procs   int           `json:"procs"`
	Up      int           `json:"up"` // connections up, dropped ones included
	Dropped int           `json:"dropped"`
}

// FloodResult is what the flood scenario saw.
type FloodResult struct {
	// Pushed is how many bytes the client's kernel accepted; most of them
	// sit in socket buffers (client, proxy and backend side), which are
	// kernel memory, not RSS.
	Pushed int64 `json:"pushed"`
	// RSS of the proxy sampled every Interval, the first just before the
	// flood starts, and the first, smallest, largest and last sample, in
	// bytes.
	Samples  []int64       `json:"samples"`
	Interval time.Duration `json:"interval"`
	First    int64         `json:"first"`
	Min      int64         `json:"min"`
	Max      int64         `json:"max"`
	Last     int64         `json:"last"`
}

// At returns the sample taken d after the first one (the last sample if
// the run was shorter), or 0 without samples.
func (f *FloodResult) At(d time.Duration) int64 {
	if len(f.Samples) == 0 || f.Interval <= 0 {
		return 0
	}
	return f.Samples[min(int(d/f.Interval), len(f.Samples)-1)]
}

// Point is one sample of the proxy's RSS while connections come up.
type Point struct {
	Conns int   `json:"conns"`
	RSS   int64 `json:"rss"`
}

// WriteJSON writes r, indented, to file.
func (r *Report) WriteJSON(file string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(file, append(b, '\n'), 0o644)
}

// WriteDir writes results.json, rss.svg (connections against proxy RSS,
// from the idle trials) and, when there were echo trials, latency.svg
// (round trip by percentile) into dir, creating it.
func (r *Report) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := r.WriteJSON(filepath.Join(dir, "results.json")); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "rss.svg"), r.SVG(), 0o644); err != nil {
		return err
	}
	if svg := r.LatencySVG(); svg != nil {
		return os.WriteFile(filepath.Join(dir, "latency.svg"), svg, 0o644)
	}
	return nil
}

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

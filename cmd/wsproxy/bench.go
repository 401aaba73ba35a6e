package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wsproxy/bench"
	"wsproxy/loadtest"
)

const benchUsage = `usage: wsproxy bench [flags]

Runs capacity scenarios through wsproxy (and nginx, HAProxy with -peers) on
this machine and prints a Markdown table. See BENCHMARKS.md.

scenarios (-scenario, comma-separated):
  idle    RSS per idle WebSocket; proxy CPU per connection brought up
  flood   RSS under a backend that never reads (plain only, not with -tls)
  ramp    handshakes/s; proxy CPU per handshake (with -tls: TLS + WebSocket)
  echo    round trips at -echo-rate: RTT, proxy CPU per relayed message
  bulk    -bulk-size messages: MB/s against no proxy, proxy CPU per MB
  resume  -tls only: -resume-clients clients connect once (full TLS handshake),
          then reconnect -reconnects times each offering their session ticket:
          how many resumed, proxy CPU per full connection and per reconnection
  reload  plain only: min(-conns, 8,000) tunnels, a numbered message a second
          each, through -reloads config reloads (nginx SIGHUP, HAProxy -W
          SIGUSR2) and, for wsproxy, a binary upgrade: tunnels closed and how,
          messages lost or reordered, the longest round trip (not in all)
  all     every scenario that runs with (or without) -tls, but reload

Proxy CPU is utime+stime from /proc/PID/stat summed over every process of
the proxy (wsproxy's master and workers, nginx's, HAProxy's), over each
scenario's measured interval only (echo, bulk: from all connections up to
the end of -duration, without the close-down), divided by the units done.
Each table gives the CPU per unit beside the rates and "wsproxy ÷ it",
wsproxy's CPU per unit over that proxy's in the same round (below 1:
wsproxy spent less); a last table lists every proxy's CPU per unit and
their ratios per round, and the median over -rounds. Rates move with
whatever else runs on the machine, the CPU per unit much less.

-tls: the proxies present a self-signed certificate with an ECDSA P-256 key
(-tls or -tls ecdsa) or an RSA-2048 key (-tls rsa), all offering X25519 and
P-256 only (-curves same; -curves own: each proxy's default, wsproxy's with
the hybrid X25519MLKEM768 first); the report names the version and key
exchange a Go client negotiated with each proxy.

flags:
`

// benchCmd runs "wsproxy bench": flags in, bench.Run, results out.
func benchCmd(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, benchUsage); fs.PrintDefaults() }
	var c bench.Config
	scenarios := fs.String("scenario", "idle", "comma-separated scenarios, or all (those that run with or without -tls): "+strings.Join(bench.AllScenarios, ","))
	peers := fs.String("peers", "", "also run each scenario through these, interleaved: nginx,haproxy")
	sources := fs.String("sources", "", "client source addresses (loadtest.ParseSources syntax); default 127.0.0.1-127.0.0.4, more past 40,000 connections (10,000 each)")
	small := fs.Bool("small", false, "CI preset: idle with 2,000 connections, under a minute")
	jsonFile := fs.String("json", "", "write the results as JSON to `FILE`")
	outDir := fs.String("out", "", "write results.json and rss.svg into `DIR`")
	prof := fs.String("profile", "", "profile the bench process itself: cpu, mem, allocs, block, mutex, goroutine, trace")
	profDir := fs.String("profile-dir", ".", "directory for -profile output")
	quiet := fs.Bool("q", false, "no progress lines on stderr")
	bin := fs.String("bin", "", "wsproxy `binary` for the proxy and echo backends, e.g. another build to compare (default: this one)")
	fs.IntVar(&c.Conns, "conns", 5000, "connections of idle and ramp")
	fs.IntVar(&c.Backends, "backends", 0, "echo backend processes (0: 3, or ceil(conns / 9,000) if more)")
	fs.IntVar(&c.Workers, "workers", 0, "wsproxy worker processes (0: ceil(conns / 9,000)); RSS and CPU are summed over master and workers")
	fs.IntVar(&c.Loops, "loops", 0, "wsproxy event loops (0: one per CPU)")
	fs.BoolVar(&c.Affinity, "affinity", false, "bind every proxy's workers to CPUs: nginx worker_cpu_affinity auto, HAProxy cpu-map, wsproxy cpu_affinity: auto")
	fs.IntVar(&c.Rounds, "rounds", 1, "times each scenario runs through every proxy")
	fs.IntVar(&c.Warmup, "warmup", 50, "connections opened and closed before the baseline (-1: none)")
	fs.DurationVar(&c.Hold, "hold", 0, "idle: how long connections stay up after all are up (default 2s); proxy RSS is sampled every 10s (hold/10 if shorter), a drop fails the trial")
	fs.IntVar(&c.Rate, "rate", 0, "idle: new connections per second in total while they come up (0: as fast as possible)")
	fs.DurationVar(&c.Duration, "duration", 0, "flood, echo, bulk: how long to run (default 10s)")
	fs.IntVar(&c.EchoConns, "echo-conns", 1000, "echo: connections")
	fs.IntVar(&c.Reloads, "reloads", 10, "reload: configuration reloads, -reload-every apart (wsproxy: then a binary upgrade)")
	fs.DurationVar(&c.ReloadEvery, "reload-every", 4*time.Second, "reload: time before, between and after the reloads")
	fs.DurationVar(&c.ReloadDrain, "reload-drain", 3*time.Second, "reload: wsproxy drain_timeout, nginx worker_shutdown_timeout, HAProxy hard-stop-after")
	fs.Float64Var(&c.EchoRate, "echo-rate", 5000, "echo: round trips per second, in total")
	fs.IntVar(&c.MsgSize, "size", 128, "echo: message size in bytes")
	fs.IntVar(&c.BulkConns, "bulk-conns", 4, "bulk: connections")
	fs.IntVar(&c.BulkSize, "bulk-size", 64<<10, "bulk: message size in bytes")
	fs.DurationVar(&c.Timeout, "timeout", 0, "bound on each trial (default 3m plus -hold)")
	fs.IntVar(&c.ResumeClients, "resume-clients", 1000, "resume: clients, each with its own TLS session cache")
	fs.IntVar(&c.Reconnects, "reconnects", 5, "resume: reconnections per client after its first, full, handshake")
	fs.Var(tlsFlag{&c}, "tls", "the proxies terminate TLS (a self-signed certificate per trial) and the clients use wss://; "+
		"-tls alone: ECDSA P-256 key, -tls rsa: RSA-2048, -tls ecdsa: P-256; not with flood")
	fs.StringVar(&c.Curves, "curves", "", "with -tls: "+bench.CurvesSame+" (default): every proxy offers X25519 and P-256, so all do the same key exchange; "+
		bench.CurvesOwn+": each its own default (wsproxy's Go default takes X25519MLKEM768 from Go clients, OpenSSL 3.0 has no ML-KEM)")
	_ = fs.Parse(tlsKeyArgs(args))
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %q", fs.Args())
	}

	if *small {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		s := bench.Small()
		if !set["conns"] {
			c.Conns = s.Conns
		}
		if !set["hold"] {
			c.Hold = s.Hold
		}
		if !set["scenario"] {
			*scenarios = strings.Join(s.Scenarios, ",")
		}
	}
	c.Scenarios = splitList(*scenarios)
	if *scenarios == "all" {
		c.Scenarios = bench.ScenariosFor(c.TLS)
	}
	c.Peers = splitList(*peers)
	if *sources != "" {
		var err error
		if c.Sources, err = loadtest.ParseSources(*sources); err != nil {
			return fmt.Errorf("bench: -sources: %w", err)
		}
	}
	c.Binary = *bin
	if c.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: cannot find the wsproxy executable: %w", err)
		}
		c.Binary = exe
	}
	if !*quiet {
		c.Progress = os.Stderr
	}
	if *prof != "" {
		stopProfile, err := startProfiling(*prof, *profDir, true)
		if err != nil {
			return fmt.Errorf("bench: -profile: %w", err)
		}
		defer stopProfile()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, runErr := bench.Run(ctx, c)
	if rep == nil {
		return runErr
	}
	rep.Command = "wsproxy bench " + strings.Join(args, " ")
	rep.Markdown(os.Stdout)
	if *jsonFile != "" {
		if err := rep.WriteJSON(*jsonFile); err != nil {
			return err
		}
	}
	if *outDir != "" {
		if err := rep.WriteDir(*outDir); err != nil {
			return err
		}
	}
	return runErr
}

// tlsFlag is -tls: a boolean flag that also takes a key type, so that
// "-tls" alone keeps its meaning (an ECDSA P-256 certificate) while
// "-tls=rsa" (or "-tls rsa", see tlsKeyArgs) chooses the key.
type tlsFlag struct{ c *bench.Config }

// IsBoolFlag lets -tls stand alone.
func (tlsFlag) IsBoolFlag() bool { return true }

func (f tlsFlag) String() string {
	switch {
	case f.c == nil || !f.c.TLS:
		return "false"
	case f.c.TLSKey == "":
		return "true"
	}
	return f.c.TLSKey
}

func (f tlsFlag) Set(v string) error {
	switch v {
	case "true", "false":
		f.c.TLS, f.c.TLSKey = v == "true", ""
	case bench.KeyECDSA, bench.KeyRSA:
		f.c.TLS, f.c.TLSKey = true, v
	default:
		return fmt.Errorf("want %s, %s, or nothing (%s)", bench.KeyECDSA, bench.KeyRSA, bench.KeyECDSA)
	}
	return nil
}

// tlsKeyArgs joins "-tls rsa" and "-tls ecdsa" into "-tls=rsa" and
// "-tls=ecdsa": the flag package gives a boolean flag no separate value,
// and would take the key type for the first non-flag argument.
func tlsKeyArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if (a == "-tls" || a == "--tls") && i+1 < len(args) && (args[i+1] == bench.KeyRSA || args[i+1] == bench.KeyECDSA) {
			a += "=" + args[i+1]
			i++
		}
		out = append(out, a)
	}
	return out
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"wsproxy/loadtest"
)

// profileEnv carries -profile to child processes, which inherit the
// environment, so that each child profiles itself into its own directory.
const profileEnv = "WSPROXY_LOADTEST_PROFILE"

// loadtestCmd runs `wsproxy loadtest`: flags in, loadtest.Run, a report
// out. "loadtest -child JSON" is the child side of a spread run.
func loadtestCmd(args []string) error {
	if len(args) > 0 && args[0] == "-child" {
		stop, err := startProfile(os.Getenv(profileEnv), filepath.Join("loadtest-profile", "child-"+strconv.Itoa(os.Getpid())))
		if err != nil {
			return err
		}
		code := loadtest.ChildMain(args[1:])
		stop()
		os.Exit(code)
	}
	fs := flag.NewFlagSet("loadtest", flag.ExitOnError)
	url := fs.String("url", "", "WebSocket URL to load, ws:// or wss://host:port/path (required)")
	insecure := fs.Bool("insecure", false, "wss: do not verify the server's certificate")
	caFile := fs.String("ca", "", "wss: PEM file of the CAs to trust instead of the system's")
	conns := fs.Int("conns", 100, "connections to open")
	rate := fs.Int("rate", 0, "new connections per second (0: as fast as possible)")
	src := fs.String("src", "", "source addresses, round-robin per dial: 127.0.0.2-127.0.0.9 or a comma list")
	work := fs.String("workload", loadtest.Hold, "hold, echo, bulk or reconnect (wss: each client connects once, then reconnects resuming its TLS session)")
	reconnects := fs.Int("reconnects", loadtest.DefaultReconnects, "reconnect: reconnections per client after its first connection")
	msgRate := fs.Float64("msg-rate", loadtest.DefaultMsgRate, "echo round trips per second per connection")
	size := fs.Int("size", 0, "message payload bytes (0: 32, or 65536 for bulk)")
	dur := fs.Duration("duration", 10*time.Second, "workload phase once all connections are up")
	timeout := fs.Duration("timeout", loadtest.DefaultTimeout, "per handshake (dial to first echo) and per round trip")
	loops := fs.Int("loops", 1, "event loops per process")
	maxPer := fs.Int("max-per-process", 0, "connections per process, more are spread over child processes (0: 9000, or 6000 for wss)")
	header := http.Header{}
	fs.Func("H", "extra handshake header \"Name: value\" (repeatable)", func(s string) error {
		name, value, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return fmt.Errorf("want \"Name: value\", got %q", s)
		}
		header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
		return nil
	})
	allow := fs.Float64("allow-failures", 0, "share of connections (0 to 1) that may fail or drop before the exit status is 1")
	jsonOut := fs.Bool("json", false, "print the summary as JSON")
	progress := fs.Bool("progress", false, "print a progress line every second even if stderr is not a terminal")
	prof := fs.String("profile", "", "write a profile of every process: cpu, mem, block, mutex or goroutine")
	_ = fs.Parse(args)
	if *url == "" {
		return fmt.Errorf("loadtest: -url is required")
	}
	if *allow < 0 || *allow > 1 {
		return fmt.Errorf("loadtest: -allow-failures %g: want a share from 0 to 1, such as 0.01", *allow)
	}
	sources, err := loadtest.ParseSources(*src)
	if err != nil {
		return err
	}
	stopProfile, err := startProfile(*prof, "loadtest-profile")
	if err != nil {
		return err
	}
	defer stopProfile()
	os.Setenv(profileEnv, *prof)

	cfg := loadtest.Config{
		URL: *url, Insecure: *insecure, CAFile: *caFile, Conns: *conns, Rate: *rate, Sources: sources, Workload: *work,
		MsgRate: *msgRate, Size: *size, Duration: *dur, Timeout: *timeout,
		Loops: *loops, MaxPerProcess: *maxPer, Header: header, Reconnects: *reconnects,
	}
	tty := isTerminal(os.Stderr)
	if tty || *progress {
		var line loadtest.ProgressLine
		cfg.Progress = func(s loadtest.Snapshot) {
			if tty {
				fmt.Fprintf(os.Stderr, "\r%s\x1b[K", line.Format(s))
			} else {
				fmt.Fprintln(os.Stderr, line.Format(s))
			}
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	res, err := loadtest.Run(ctx, cfg)
	if tty && cfg.Progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if res == nil {
		return err
	}
	if errors.Is(err, context.Canceled) {
		err = nil // interrupted: the partial result is the outcome
	}
	if *jsonOut {
		b, jerr := json.MarshalIndent(res, "", "  ")
		if jerr != nil {
			return jerr
		}
		fmt.Printf("%s\n", b)
	} else {
		res.WriteText(os.Stdout)
	}
	if err == nil {
		err = res.CheckFailures(*allow)
	}
	return err
}

// startProfile starts the named profile into dir; "" profiles nothing.
// Ctrl-C ends the run cleanly through the context, and the profile is
// written on return.
func startProfile(mode, dir string) (stop func(), err error) {
	if mode == "" {
		return func() {}, nil
	}
	stop, err = startProfiling(mode, dir, false)
	if err != nil {
		return nil, fmt.Errorf("loadtest: -profile: %w", err)
	}
	return stop, nil
}

// isTerminal reports whether f looks like a terminal (a character device).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wsproxy/core"
	"wsproxy/examples"
	"wsproxy/internal/config"
)

func newLogger(level string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	file := fs.String("config", "", "YAML config file")
	listen := fs.String("listen", "", "quick mode: address to listen on (with -upstream)")
	upstream := fs.String("upstream", "", "quick mode: upstream host:port for every request")
	loops := fs.Int("loops", 0, "event loops (0: config value, default one per CPU)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	_ = fs.Parse(args)
	log := newLogger(*level)

	var cfg *config.Config
	var err error
	var demo []*core.EchoServer
	switch {
	case *file != "":
		cfg, err = config.Load(*file)
	case *listen != "" || *upstream != "":
		if *listen == "" || *upstream == "" {
			return fmt.Errorf("quick mode needs both -listen and -upstream")
		}
		cfg = config.Quick(*listen, *upstream)
		err = cfg.Validate()
	default:
		cfg, err = config.Parse("examples/seed.yaml (embedded)", examples.Seed)
		if err == nil {
			demo, err = startDemoBackends(cfg, log)
		}
	}
	if err != nil {
		return err
	}
	if *loops > 0 {
		cfg.Loops = *loops
	}
	srv, err := core.New(cfg, core.Options{Logger: log})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	for _, a := range srv.Addrs() {
		log.Info("listening", "addr", a.String(), "loops", cfg.Loops)
	}
	if demo != nil {
		printDemo(srv)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	log.Info("stopping", "signal", s.String())
	srv.Close()
	for _, e := range demo {
		e.Close()
	}
	return nil
}

// startDemoBackends starts one echo backend per server address of the seed
// config, named echo-1, echo-2, ...
func startDemoBackends(cfg *config.Config, log *slog.Logger) ([]*core.EchoServer, error) {
	seen := map[string]bool{}
	var out []*core.EchoServer
	for _, name := range []string{"webpush"} {
		for i, s := range cfg.Upstreams[name].Servers {
			if seen[s.Addr] {
				continue
			}
			seen[s.Addr] = true
			e, err := core.NewEcho(s.Addr, fmt.Sprintf("echo-%d", i+1), 1, log)
			if err != nil {
				return nil, fmt.Errorf("demo backend: %w (is another demo running?)", err)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

func printDemo(srv *core.Server) {
	a := srv.Addrs()[0].String()
	fmt.Printf(`
wsproxy demo: the seed's topology on loopback (examples/seed.yaml)
  three echo backends on 127.0.0.1:10081-10083, behind http://%[1]s

  HTTP  http://%[1]s/hello                      -> echo-1, path unchanged
  HTTP  http://%[1]s/services/myservice/hello   -> webpush group, rewritten to /hello
  WS    ws://%[1]s/services/myservice/socket    -> webpush group, rewritten to /socket

try:
  curl -s http://%[1]s/services/myservice/hello?x=1
`, a)
	// One request through the proxy, so the demo shows it working.
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + a + "/services/myservice/hello?x=1")
	if err != nil {
		fmt.Println("  self-check failed:", err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Printf("\nself-check: GET /services/myservice/hello?x=1 -> %s\n  %s\n", resp.Status, strings.TrimSpace(string(body)))
	fmt.Println("\nCtrl-C to stop.")
}

func checkCmd(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	file := fs.String("config", "", "YAML config file")
	_ = fs.Parse(args)
	if *file == "" {
		return fmt.Errorf("check: -config FILE is required")
	}
	if _, err := config.Load(*file); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: ok\n", *file)
	return nil
}

func echoCmd(args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:10080", "address to listen on")
	id := fs.String("id", "echo", "name reported in responses (X-Echo-Id, JSON id)")
	loops := fs.Int("loops", 1, "event loops")
	_ = fs.Parse(args)
	log := newLogger("info")
	e, err := core.NewEcho(*listen, *id, *loops, log)
	if err != nil {
		return err
	}
	log.Info("echo backend listening", "addr", e.Addr().String(), "id", *id)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	e.Close()
	return nil
}

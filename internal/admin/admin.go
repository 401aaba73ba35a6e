// Package admin is wsproxy's operator side: the admin HTTP listener
// (Prometheus metrics, health, pprof), the transport that lets a master sum
// its workers' metrics, and the logger the configuration describes.
//
// The admin listener serves
//
//	/metrics        Prometheus text format: the proxy's counters (a
//	                metrics.Snapshot taken at each scrape), plus the
//	                process_* and go_* metrics of the serving process
//	/healthz        200 "ok" while the process serves
//	/debug/pprof/   net/http/pprof, only with admin.pprof: true
//
// With worker processes it runs once, in the master: each worker serves its
// snapshot as JSON on a unix socket in a directory the master names in the
// environment (EnvDir), and the master's Workers sums them at each scrape.
// The process_* and go_* metrics then describe the master alone.
package admin

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"wsproxy/config"
	"wsproxy/core/metrics"
)

// Config configures an admin listener. Metrics is required.
type Config struct {
	// Admin is the configuration's admin section: address and pprof.
	Admin config.Admin

	// Metrics returns the counters to expose; it is called once per
	// scrape, from the scraping goroutine. core's Server.Metrics of a single
	// process, or Workers.Snapshot in a master.
	Metrics func() metrics.Snapshot

	// Logger receives the listener's messages. Nil: slog.Default().
	Logger *slog.Logger

	// Drain serves POST /drain and /undrain (backend drain by operators).
	// Nil: those endpoints do not exist.
	Drain DrainFunc

	// Reloads, when set, exports wsproxy_reloads_total and
	// wsproxy_config_generation.
	Reloads *Reloads

	// Upstreams serves the runtime API, /upstreams/NAME/servers (see
	// upstreams.go). Nil: it does not exist.
	Upstreams Upstreams
}

// Server is a running admin listener.
type Server struct {
	ln   net.Listener
	http *http.Server
	done chan struct{}
}

// Start listens on cfg.Admin.Addr and serves until Close. An address that
// is not loopback is served, with a warning in the log.
func Start(cfg Config) (*Server, error) {
	if cfg.Metrics == nil {
		return nil, errors.New("admin: Config.Metrics is nil")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	ln, err := net.Listen("tcp", cfg.Admin.Addr)
	if err != nil {
		return nil, err
	}
	if !cfg.Admin.Loopback() {
		log.Warn("admin listener is reachable from the network: its metrics name routes and backends"+
			" (bind it to 127.0.0.1 or firewall it)", "addr", ln.Addr().String(), "pprof", cfg.Admin.Pprof)
	}
	s := &Server{
		ln:   ln,
		http: &http.Server{Handler: Handler(cfg), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)},
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin listener stopped", "err", err)
		}
	}()
	log.Info("admin listening", "addr", ln.Addr().String(), "pprof", cfg.Admin.Pprof)
	return s, nil
}

// Addr is the address the listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close stops the listener and closes its connections.
func (s *Server) Close() error {
	err := s.http.Close()
	<-s.done
	return err
}

// Handler returns the admin endpoints of cfg (cfg.Admin.Addr is not used).
func Handler(cfg Config) http.Handler {
	gs := []gatherer{gatherSnapshot(cfg.Metrics), gatherProcess, newGoMetrics().gather}
	if cfg.Reloads != nil {
		gs = append(gs, cfg.Reloads.gather)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metricsHandler(gs...))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	if cfg.Drain != nil {
		mux.HandleFunc("POST /drain", drainHandler(cfg.Drain, false))
		mux.HandleFunc("POST /undrain", drainHandler(cfg.Drain, true))
	}
	if cfg.Upstreams != nil {
		handleUpstreams(mux, cfg.Upstreams)
	}
	if cfg.Admin.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Package bench measures wsproxy, and for comparison nginx and HAProxy, on
// one machine: memory per idle WebSocket, memory under a client that pushes
// into a backend that never reads, handshake rate, round-trip latency,
// throughput, TLS session resumption, and the proxy's CPU time per unit of
// each kind of work. "wsproxy bench" is its command line; BENCHMARKS.md
// has the numbers and the commands that produced them.
//
// # What runs where
//
// Each trial (one scenario through one proxy) starts from nothing and tears
// everything down again:
//
//	echo backends   "wsproxy echo", one process and port each (Config.Backends)
//	proxy           "wsproxy run -config F [-workers N]", or nginx / haproxy
//	                with a config generated from the seed's section 4
//	                (proxies.go); -affinity pins each to CPUs (wsproxy
//	                cpu_affinity: auto, nginx worker_cpu_affinity auto,
//	                HAProxy cpu-map)
//	load            package loadtest, inside the bench process up to
//	                PerProcess connections, else in loadtest child
//	                processes of at most PerProcess each, from several
//	                127.0.0.x source addresses (Config.Sources)
//
// Every subprocess gets a process group of its own and the group is killed
// (SIGTERM, then SIGKILL) when the trial ends, fails, times out or the run
// is interrupted. Ports are picked free on 127.0.0.1 just before use; nothing
// listens on a fixed port.
//
// # What is measured
//
// A proxy's memory is the sum over its process group (nginx's master and
// workers) of VmRSS from /proc/PID/status, and of Pss and Anonymous from
// /proc/PID/smaps_rollup; its CPU is each process's CPU clock
// (clock_gettime of its process CPU clock: nanoseconds, exited threads
// included), or utime+stime from /proc/PID/stat where that clock cannot be
// read. RSS is
// user-space memory only: socket buffers, the epoll interest list and other
// kernel memory a connection costs are not in it.
//
// CPU per unit of work is the proxy group's CPU over a scenario's measured
// interval only, divided by the units done in it: per connection brought
// up (idle) or handshake (ramp; TLS and WebSocket with Config.TLS), from the
// baseline to the last connection up; per relayed message (echo) and per
// MB echoed (bulk), from all connections up to the end of the Duration
// phase (loadtest's OnRunEnd: the close-down is left out); per full
// connection and per reconnection (resume), each phase on its own. Each
// table has the CPU per unit beside the rates and "wsproxy ÷ it", wsproxy's
// cost over the row's proxy's in the same round; the last table (UnitCosts)
// lists every proxy's cost per round, the ratios between them, and with
// several rounds the median of each, ratios included. The rates of a
// shared machine move with whatever else runs; the cost per unit much
// less, and a ratio taken within one round cancels what moved both.
// The CPU clock is exact; utime+stime, the fallback, count in 10 ms ticks
// per process, which over a ramp of a few hundred milliseconds is a few per
// cent per sample. The load generator's CPU is read the same way.
//
//	idle   Config.Warmup connections are opened and closed, the proxy is
//	       sampled (Before), then Config.Conns connections come up with one
//	       verified round trip each and the proxy is sampled again the moment
//	       the last is up (Loaded). Bytes per connection is
//	       (Loaded.RSS - Before.RSS) / connections up. The connections are
//	       then held for Config.Hold; the proxy and the load generator are
//	       sampled every 10 s (Hold/10 for holds under 100 s), and a
//	       connection that drops fails the trial ("DROPPED").
//	flood  one client writes 16 KiB frames through the proxy to a backend
//	       inside the bench process that answers the handshake and never
//	       reads again; the proxy's RSS is sampled every 500 ms. A proxy that
//	       applies back-pressure keeps it flat.
//	ramp   Config.Conns handshakes as fast as they go: connections up per
//	       second until the last is up, and handshake latency.
//	echo   Config.EchoConns connections send Config.MsgSize-byte messages at
//	       Config.EchoRate round trips per second in total: latency
//	       percentiles and proxy CPU per relayed message (two per round trip).
//	bulk   Config.BulkSize-byte messages as fast as they go, through the
//	       proxy and directly to the backend.
//	resume (Config.TLS only) Config.ResumeClients clients, each with a TLS
//	       session cache of its own, connect once (a full handshake, the
//	       WebSocket handshake, one echo, close), then reconnect
//	       Config.Reconnects times each offering the ticket of the last
//	       connection (loadtest's Reconnect workload). The proxy is sampled
//	       before, between the phases and after: CPU per full connection,
//	       per reconnection and their ratio, and how many reconnections
//	       resumed (tls.ConnectionState.DidResume): a proxy whose worker
//	       processes have ticket keys of their own resumes only the
//	       reconnections that land on the worker that issued the ticket.
//	reload (plain ws only; not in "all") min(Config.Conns, ReloadMaxConns)
//	       internal/wsseq clients in the bench process, each sending a
//	       numbered message every Config.ReloadInterval and checking every
//	       echo, through Config.Reloads reloads Config.ReloadEvery apart,
//	       each a new configuration (Variant: a route and a doubled
//	       timeout, added then removed): SIGHUP to wsproxy's master (two
//	       workers at least, started from a copy of the binary in the
//	       trial's directory) and to nginx's (worker_shutdown_timeout
//	       Config.ReloadDrain), SIGUSR2 to HAProxy's master (-W,
//	       hard-stop-after the same). Then, for wsproxy, a binary upgrade:
//	       another copy renamed over the first, SIGHUP. Each reload is
//	       waited for until the proxy shows it took it (wsproxy's
//	       wsproxy_reloads_total on its admin listener; a new process in
//	       nginx's or HAProxy's group). The clients count what they saw:
//	       tunnels closed and how (Close code, EOF, reset, an echo lost or
//	       repeated), messages sent and echoed in order, the longest round
//	       trip (ReloadResult).
//
// With Config.TLS the proxies present a self-signed certificate with an
// ECDSA P-256 or an RSA-2048 key (Config.TLSKey), and one probe handshake
// per trial records what a Go client negotiated (Trial.TLSNegotiated). By
// default (Config.Curves CurvesSame) every proxy offers the same key
// exchanges, X25519 and P-256, and all negotiate X25519 with the Go
// clients; with CurvesOwn each keeps its default, and Go's server then
// takes the X25519MLKEM768 key share Go's client offers where OpenSSL 3.0
// (nginx, HAProxy) takes X25519: a hybrid post-quantum exchange costs more
// CPU per handshake, resumed ones too, and CPU per handshake would compare
// different work.
//
// # Ports
//
// No port is picked by bench and bound later by someone else: wsproxy and
// the echo backends listen on 127.0.0.1:0 and write the port they got to
// a file (-addr-file); nginx and HAProxy, which cannot report one, are
// handed a socket bench listens on as descriptor 3 (nginx: NGINX=3;, as
// across a binary upgrade; HAProxy: bind fd@3).
//
// # Limits and sizing
//
// Each process may hold at most RLIMIT_NOFILE descriptors (20,000 here), and
// a proxy needs two per proxied connection, so a single proxy process tops
// out near (limit-200)/2 = 9,900 connections. Past PerProcess (9,000)
// connections a run is spread (plan, Sizing):
//
//	wsproxy        ceil(N / 9,000) workers ("run -workers"; Config.Workers)
//	nginx          worker_processes ceil(N / 9,000), worker_connections
//	               limit-100, listen ... reuseport
//	HAProxy        one process: skipped past (limit-200)/2, with the reason
//	echo backends  max(3, ceil(N / 9,000)), one port each
//	sources        max(4, ceil(N / 10,000)) addresses from 127.0.0.1; a
//	               (source, proxy port) pair has ~28,000 ephemeral ports
//	load generator ceil(N / 9,000) loadtest child processes
//
// and the proxies balance round robin: nginx's ip_hash hashes the first
// three octets of an IPv4 address, so every 127.0.0.x client would go to
// one backend. A size the user sets (-workers, -backends, -sources) that
// cannot carry the run is refused by Config.Validate with the arithmetic.
//
// Validate then plans the sizing in the machine's terms (budget, Budget)
// and the progress output's sizing: line prints the plan: the processes of
// each role with the connections and descriptors of each; on each hop the
// (source, destination) pairs, the connections per pair and the ephemeral
// ports usable per pair (half of ip_local_port_range, read from /proc, at
// most PerSource); and the kernel memory of the sockets, four per proxied
// connection at SocketKernel bytes each, against MemAvailable. The proxy
// dials its upstreams from 127.0.0.1 without binding a source address, so
// its hop has one pair per echo backend port. A plan short of descriptors,
// ports or memory is refused with an error that names what is short.
package bench

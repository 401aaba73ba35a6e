package config

// Upstream is a named group of backend servers and the policy that picks one.
type Upstream struct {
	// Balance is the selection policy: round_robin (default), least_conn,
	// ip_hash, hash, cookie or sid (see the Balance* constants).
	Balance string `yaml:"balance"`

	// HashKey says what balance "hash" hashes: "header:NAME",
	// "cookie:NAME", "query:NAME" or "ip". Required for hash; an optional
	// override of the session key for cookie and sid; not allowed for the
	// other policies.
	HashKey string `yaml:"hash_key"`

	// Servers are the backends. At least one is required, unless
	// ServersFrom is set.
	Servers []Server `yaml:"servers"`

	// ServersFrom, when set, takes the servers from DNS and keeps them up
	// to date (see ServersFrom). Not allowed together with Servers.
	ServersFrom *ServersFrom `yaml:"servers_from"`

	// IPHashPrefix24 makes ip_hash hash only the first three octets of an
	// IPv4 address, as nginx's ip_hash does. Default false: the whole address.
	IPHashPrefix24 bool `yaml:"ip_hash_prefix24"`

	// Fallback is the policy cookie and sid use for requests without a
	// usable cookie or known sid (round_robin, least_conn, ip_hash, hash).
	// Default: round_robin for cookie; for sid hash if hash_key is set,
	// else ip_hash.
	Fallback string `yaml:"fallback"`

	// Cookie configures balance: cookie (see Cookie).
	Cookie *Cookie `yaml:"cookie"`

	// SidTTL is how long a learnt Engine.IO sid keeps routing to its
	// server after its last use. Default: 5m.
	SidTTL Duration `yaml:"sid_ttl"`

	// MaxFails failed connects within FailTimeout mark a server down for
	// FailTimeout, as in nginx. Default 1; -1 turns passive checks off.
	MaxFails int `yaml:"max_fails"`

	// FailTimeout: see MaxFails. Default: 10s.
	FailTimeout Duration `yaml:"fail_timeout"`

	// HealthCheck, when set, probes every server over HTTP.
	HealthCheck *HealthCheck `yaml:"health_check"`

	// OnRemove is what happens to the open tunnels of a server removed
	// from this upstream while the proxy runs (a reload, the runtime API):
	// "keep" (default) lets them run until either side ends them; "close"
	// sends them Close 1001, spread over RemoveWindow so that their clients
	// do not all reconnect at once.
	OnRemove string `yaml:"on_remove"`

	// RemoveWindow is the window over which on_remove: close spreads its
	// closes. Default: 10s.
	RemoveWindow Duration `yaml:"remove_window"`

	// RcvBuf and SndBuf, when set, fix the receive and send buffers of
	// every socket dialled to this upstream's servers, before the connect
	// (HAProxy's tune.rcvbuf.server and tune.sndbuf.server). With the
	// listener's, they bound the kernel memory a tunnel holds when one side
	// stops reading. Default: unset, the kernel's autotuning.
	RcvBuf Size `yaml:"rcvbuf"`
	SndBuf Size `yaml:"sndbuf"`

	// NotSentLowat is TCP_NOTSENT_LOWAT on every socket dialled to this
	// upstream's servers: a stalled upload holds little more than this in
	// the proxy's socket toward the backend (see Listener.NotSentLowat).
	// Default: 128k; 0 turns it off.
	NotSentLowat *Size `yaml:"notsent_lowat"`

	// Name is the key of this upstream in Config.Upstreams, set by Validate.
	Name string `yaml:"-"`

	// implicit marks an upstream created for a route that names an address.
	implicit bool
}

// Lowat is the upstream's notsent_lowat, its default if unset.
func (u *Upstream) Lowat() int { return lowat(u.NotSentLowat) }

// Server is one backend of an Upstream.
type Server struct {
	// Addr is "host:port"; the host may be a name, resolved later.
	Addr string `yaml:"addr"`

	// Weight is the relative share of new connections. Default (0): 1.
	Weight int `yaml:"weight"`

	// MaxConns caps concurrent connections to this server. Default (0):
	// unlimited.
	MaxConns int `yaml:"max_conns"`

	// Backup servers receive connections only when no other server is
	// available. Default: false.
	Backup bool `yaml:"backup"`

	// TLS makes the proxy speak TLS (https/wss) to this server, verifying
	// its certificate. Default: false (plain TCP).
	TLS bool `yaml:"tls"`

	// CAFile is a PEM file of the certificate authorities trusted for this
	// server's certificate. Default (""): the system roots. Needs TLS.
	CAFile string `yaml:"ca_file"`

	// ServerName is the name sent in SNI and verified in the server's
	// certificate. Default (""): the host part of Addr. Needs TLS.
	ServerName string `yaml:"server_name"`

	// InsecureSkipVerify accepts any certificate from this server. For
	// tests only. Default: false. Needs TLS.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

package config

import "time"

// Listener is one address the proxy accepts clients on.
type Listener struct {
	// Addr is "IP:port" or ":port" (all interfaces). Port 0 picks a free
	// port, which is useful in tests. Hostnames are not accepted here.
	Addr string `yaml:"addr"`

	// TLS, when set, makes this a TLS listener (wss/https). Nil means plain
	// TCP.
	TLS *TLS `yaml:"tls"`

	// ProxyProtocol expects a PROXY protocol header (v1 or v2, as sent by
	// HAProxy, AWS NLB and others) at the start of every connection and
	// takes the client address from it. A connection without one is
	// refused. On a TLS listener the header comes first, in plain text,
	// as balancers send it. Default: false.
	ProxyProtocol bool `yaml:"proxy_protocol"`

	// RcvBuf and SndBuf, when set, fix the receive and send buffers of
	// the listening socket, which every accepted client socket inherits
	// (nginx's listen rcvbuf= and sndbuf=, HAProxy's tune.rcvbuf.client).
	// A fixed buffer is not autotuned: it bounds the kernel memory a client
	// can fill while its upstream does not read (up to tcp_rmem's maximum,
	// 32 MB on recent kernels, without it) at the price of throughput on
	// paths with a large bandwidth-delay product. Linux doubles the value
	// for its bookkeeping and caps it at net.core.rmem_max / wmem_max.
	// Default: unset, the kernel's autotuning. Taking it out of a running
	// configuration leaves the sockets' fixed size until they are
	// listened on anew (a restart).
	RcvBuf Size `yaml:"rcvbuf"`
	SndBuf Size `yaml:"sndbuf"`

	// NotSentLowat is TCP_NOTSENT_LOWAT on every client socket: once this
	// many bytes wait unsent in one (its client reads nothing and its
	// window is closed), the proxy stops writing there, and back-pressure
	// stops reading the upstream, so a stalled download holds little more
	// than this in the kernel instead of tcp_wmem's maximum (4 MB). What
	// is in flight stays autotuned, so throughput is not capped. Default:
	// 128k; 0 turns it off (the kernel's default, unlimited). Linux and
	// macOS.
	NotSentLowat *Size `yaml:"notsent_lowat"`
}

// DefaultNotSentLowat is notsent_lowat's default for listeners and
// upstreams.
const DefaultNotSentLowat = 128 << 10

// Lowat is the listener's notsent_lowat, its default if unset.
func (l *Listener) Lowat() int { return lowat(l.NotSentLowat) }

func lowat(s *Size) int {
	if s == nil {
		return DefaultNotSentLowat
	}
	return int(*s)
}

// TLS configures a TLS listener. Only the fields are checked here; the files
// are read by the component that serves TLS.
type TLS struct {
	// Cert and Key are paths to a PEM certificate chain (leaf first) and
	// its private key; a relative path is relative to the directory of the
	// config file. Either both or neither; if neither, Certificates must
	// not be empty. The first certificate is the default for clients whose
	// SNI matches no certificate's DNS names (or who send none).
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`

	// MinVersion is the oldest protocol version accepted: "1.2" or "1.3".
	// Default: "1.2". Older versions are rejected.
	MinVersion string `yaml:"min_version"`

	// Ciphers restricts the TLS 1.2 cipher suites, by their Go names
	// ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", see tls.CipherSuites).
	// TLS 1.3 suites are not configurable. Default (empty): Go's defaults.
	Ciphers []string `yaml:"ciphers"`

	// Curves are the key exchanges offered, in order of preference, as
	// nginx's ssl_ecdh_curve: X25519MLKEM768 (hybrid post-quantum),
	// X25519, P256, P384, P521 (tls.CurveID names). Default (empty): Go's
	// order, which puts X25519MLKEM768 first for clients that offer it
	// (Go 1.24+, Chrome 131+, Firefox 132+) and costs more CPU per
	// handshake than X25519 alone, resumed ones included (BENCHMARKS.md);
	// [X25519, P256] trades that protection for the CPU, as OpenSSL 3.0's
	// defaults in nginx and HAProxy do.
	Curves []string `yaml:"curves"`

	// Certificates are further certificate/key pairs, chosen by SNI: an
	// exact DNS name first, then a wildcard ("*.example.com", one label).
	Certificates []CertPair `yaml:"certificates"`

	// SessionTickets, when false, turns TLS session tickets off (as nginx's
	// ssl_session_tickets off): every client pays a full handshake. Nil
	// (the default): on, with keys every worker process shares
	// (internal/tickets).
	SessionTickets *bool `yaml:"session_tickets"`

	// SessionTicketKeys are files of session-ticket keys, 80 or 48 random
	// bytes each as nginx's ssl_session_ticket_key reads them, for
	// instances that resume each other's sessions: the first file's key
	// encrypts new tickets, all of them decrypt. A relative path is
	// relative to the directory of the config file; the files are read at
	// start and again on SIGUSR2. Default (empty): keys derived from a
	// secret the master makes at start, rotated.
	SessionTicketKeys []string `yaml:"session_ticket_keys"`

	// SessionTicketLifetime is how long a session resumes at most after its
	// ticket was issued (at least half of it): the keys derived from the
	// master's secret rotate every half lifetime, and a key is dropped two
	// rotations after it started. Between 1m and 168h (crypto/tls never
	// resumes a session older than 7 days). Default (0):
	// DefaultSessionTicketLifetime. Not with SessionTicketKeys, which
	// rotate when the files are replaced.
	SessionTicketLifetime Duration `yaml:"session_ticket_lifetime"`

	// certAt and keyAt locate Cert and Key, as CertPair.CertAt does;
	// ticketKeysAt locates each of SessionTicketKeys.
	certAt, keyAt string
	ticketKeysAt  []string
}

// DefaultSessionTicketLifetime is a TLS session's resumption lifetime when
// TLS.SessionTicketLifetime is zero: an hour, enough for a storm of
// reconnections after a deploy or a network failure to resume, and short
// beside crypto/tls's own 7 days (nginx's and HAProxy's sessions last 5
// minutes by default).
const DefaultSessionTicketLifetime = time.Hour

// CertPair is a PEM certificate chain and its private key, both paths.
type CertPair struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`

	// CertAt and KeyAt say where Cert and Key are written, for the errors
	// of whoever reads the files: "FILE:LINE: listen[0].tls.cert". Parse
	// sets them; empty in configurations built in code.
	CertAt, KeyAt string `yaml:"-"`
}

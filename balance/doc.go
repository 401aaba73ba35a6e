// Package balance chooses the upstream server for each request of the proxy.
// It knows backends and the keys that pin clients to them, never connections
// or sockets: the core dials, relays and closes; balance only answers "which
// server" and keeps the counters and health state that answer depends on.
//
// # Sharing
//
// The core builds one Pool per configured upstream and shares it between all
// event loops of the process. Everything Pick reads or writes is therefore
// atomic or held under a short lock (round_robin's current weights, a shard of
// the sid table), and Pick allocates nothing (the benchmarks and
// testing.AllocsPerRun in the tests prove it).
//
// # Policies
//
// One Selector per policy, each in its own file with its own table test:
//
//	round_robin  roundrobin.go  smooth weighted round robin, as nginx
//	least_conn   leastconn.go   fewest active (tunnels + in-flight requests) per unit of weight
//	ip_hash      iphash.go      whole client address (IPv4 or IPv6), or the IPv4 /24 as nginx
//	hash         hash.go        header:NAME, cookie:NAME, query:NAME or ip
//	cookie       cookie.go      HMAC-signed cookie, inserted by the proxy, naming the server
//	sid          sid.go         Engine.IO session id learnt from the backend's handshake
//
// cookie and sid fall back to Config.Fallback for requests that carry no
// usable cookie or known sid.
//
// A server is a candidate when it is Available: not marked down by the
// passive checks (Pool.Report) or the active ones (Server.MarkDown), and below
// its MaxConns. Backup servers are candidates only when no primary server is
// (nginx's backup).
//
// # Consistent hashing
//
// ip_hash and hash use weighted rendezvous hashing (highest random weight):
// each server scores a key with Weight / -ln(u), where u in (0,1) is a hash of
// the key and the server's address, and the best available score wins. It is
// used rather than a ring or Maglev because:
//
//   - it is exactly minimal: removing a server moves only the keys it had,
//     adding one moves only the keys it now wins (Maglev moves a few more);
//   - there is no lookup table to rebuild when health changes: a server that
//     goes down is skipped at Pick time, its keys go to each key's next-ranked
//     server, and they come back when it recovers while every other key stays
//     put, with no lock and no rebuild on the hot path;
//   - scores depend only on the key and the server's Addr, so every event
//     loop, worker process and proxy instance with the same servers picks the
//     same server for a key, whatever the order of the list;
//   - weights need no virtual nodes.
//
// The price is O(servers) per Pick: an atomic check and a hash per server,
// and a logarithm for only about ln(servers) of them when weights differ
// (see rendezvous); about 0.1 µs for 3 servers and 0.6 µs for 64
// (BenchmarkRendezvousServers). Maglev's O(1) lookup would pay off only for
// hundreds of servers, and at the price of rebuilding its table, under a
// lock or by copy, on every health change. The key hash is FNV-1a
// with a splitmix64 finaliser: deterministic across processes, which maphash
// is not.
//
// # Use by the core
//
//	s, err := pool.Pick(req, now)        // ErrNoServer: answer 503
//	// dial s.Addr ...
//	pool.Report(s, dialOK, now)          // passive health: connect result or timeout
//	if pool.NeedsCookie(req, s) {        // policy cookie: insert the cookie
//		// append "Set-Cookie: " + pool.SetCookie(s) to the response head
//	}
//	if pool.Policy() == PolicySid {      // on the response to a request without ?sid=
//		if sid, ok := ParseEngineIOHandshake(body); ok {
//			pool.Learn(sid, s, now)
//		}
//	}
//	s.Release()                          // when the tunnel or request ends, or the dial failed
//
// Pick has acquired one slot of s (least_conn's count, MaxConns); the core
// must Release it exactly once. Pick, Report and Learn take the caller's
// clock rather than reading one: loops already hold a cached now, and the
// tests drive health and sid expiry with a fake one.
package balance

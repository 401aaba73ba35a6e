// Package sidshm is a balance.SidStore shared by the worker processes of one
// master: a fixed-size open-addressing hash table in shared memory, updated
// with atomic operations and no locks.
//
// Policy sid learns an Engine.IO session id from the handshake a backend
// answered and sends later requests carrying ?sid= to that backend. With
// several worker processes on one SO_REUSEPORT port the kernel spreads a
// client's requests over the workers, so every worker must see what any of
// them learnt; a private balance.SidTable per process does not.
//
// # Life of a table
//
//	master   Create: a memfd (an unlinked file elsewhere) holding a header and
//	         empty slots; inherited by every worker of every generation, so
//	         learnt sessions survive reloads and worker restarts
//	worker   Open: mmap MAP_SHARED; Table.Store(upstream, ttl) per upstream
//	         with balance: sid, handed to balance.Config.SidStore
//
// # Layout
//
// A 64-byte header (magic, version, number of slots, hash seed) and then
// 2^n slots of three 64-bit words:
//
//	key      0: empty; top bit set: a sid's hash; else: being written since
//	         that Unix second (a claim)
//	server   balance.Server.ID: a hash of the server's address, the same in
//	         every process
//	expires  the Unix second at which the entry stops routing (high 32
//	         bits) and a 32-bit check of key and server (low bits)
//
// The default 2^18 slots (balance.DefaultSidTableSize) take 6 MiB plus the
// header (6,291,520 bytes) of shared memory, charged to the processes that
// touch it and only as pages are first written.
//
// One table serves every upstream: a Store mixes its upstream's name into
// the seed of its key hash, so equal sids of two upstreams are different
// keys. The hash is a 64-bit multiply-rotate hash with splitmix64's
// finaliser, seeded with random bytes the master writes into the header,
// deterministic in every process that maps the file (hash/maphash is not).
// A key keeps 63 bits of the hash; two live sids colliding would send one
// to the other's server, which rejects it (the client reconnects).
//
// # Probing
//
// A key lives within probeLen (16) slots of its home slot (the hash modulo
// the size). Learn scans that window for the key itself, else takes the
// first empty or expired slot, else evicts the entry that expires soonest.
// Lookup scans the window until it meets the key. An empty slot does not
// end the scan: Sweep and Learn empty or reuse slots in place, and a table
// shared by running processes cannot rehash or collect tombstones, so the
// window is bounded instead; a miss costs 16 loads (384 bytes, 6 or 7
// cache lines), a hit usually one or two.
//
// Two Learns of one sid at the same moment (which the proxy never does: a
// sid is learnt once, from its handshake) may each fill a slot. Lookup and
// later Learns both use the first copy in the window, and the other one
// waits for its expiry.
//
// # Memory ordering
//
// Every access to a slot is a sync/atomic operation on a 64-bit aligned
// word. Go's atomics are sequentially consistent, and on shared pages they
// are the same instructions on the same physical memory (on amd64 plain
// loads under TSO, XCHG stores and LOCK CMPXCHG; on arm64 LDAR, STLR and
// CAS or LDAXR/STLXR), so they order the accesses of different processes
// as they order those of different goroutines.
//
// A writer (Learn, Sweep) first claims a slot with a compare-and-swap of
// its key word from the value it judged (empty, expired, the victim, or
// the same key) to a claim; it then stores server and expires, and
// publishes the key last with a store. A reader (Lookup) loads the key,
// then server and expires, then the key again, and believes the fields
// only if the key was its own both times: a claim in between changes the
// key word, so a reader never pairs a key with another key's server. (The
// one pairing it can make is the same key re-learnt meanwhile: old or new
// server, both right for that key at some point.) Claims also keep two
// writers apart: of two compare-and-swaps from the same value, one fails
// and its writer looks again.
//
// Lookup refreshes the TTL with a compare-and-swap of expires, without a
// claim, and only when the new value is later (once a second per entry at
// most, so that hot sessions do not bounce cache lines between processes
// on every request). If a writer claims the slot meanwhile, the refresh
// either fails or is overwritten by the writer's expires; in between the
// new entry holds now+TTL, an expiry as plausible as its own.
//
// A process killed between a claim and its publication leaves a claim
// behind; Learn and Sweep take over claims older than staleClaim (a
// minute). A writer stopped for that long (SIGSTOP, a paused machine) is
// not dead, though: resumed, it finishes its stores into a slot that is
// another writer's by then, and the slot may end up with one writer's key
// and the other's server. The check in expires, computed from key and
// server by the writer that stored it, catches that: Lookup takes an entry
// only when the check matches the key and server it read, so such a slot
// reads as a miss (and is reused like an expired one) rather than routing a
// session to another session's server. Tests make this race common by
// running writers whose clocks are minutes apart.
//
// Expiry has a resolution of one second: an entry stops routing between
// TTL-1s and TTL after its last use.
package sidshm

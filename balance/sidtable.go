package balance

import (
	"hash/maphash"
	"sync"
	"time"
)

// SidStore maps Engine.IO session ids to the ID of the server that issued
// them, for policy sid. SidTable is the in-process implementation; a store
// shared between worker processes or instances can replace it through
// Config.SidStore. Implementations must be safe for concurrent use, must not
// retain sid, and should not allocate in Lookup, which runs inside Pick.
type SidStore interface {
	// Learn maps sid to server (a Server.ID) from now on, replacing any
	// earlier mapping, until the entry has been idle for the store's TTL.
	Learn(sid []byte, server uint64, now time.Time)
	// Lookup returns the server of sid and refreshes its TTL; ok is false
	// when sid is unknown or expired.
	Lookup(sid []byte, now time.Time) (server uint64, ok bool)
	// Sweep drops the entries expired at now and returns how many. A store
	// that expires entries by itself returns 0.
	Sweep(now time.Time) int
}

// sidShards spreads the table over independently locked shards so that
// loops learning and looking up different sessions rarely meet. A sid's
// shard is the top bits of its hash.
const (
	sidShardBits = 6
	sidShards    = 1 << sidShardBits
)

// evictSample is how many entries a full shard examines to find a victim:
// an expired one if any, else the least recently used of them (Redis's
// sampled LRU). It bounds the work of a Learn into a full table.
const evictSample = 8

// SidTable is a bounded, sharded, in-process SidStore with an idle TTL. It
// stores a 64-bit keyed hash of each sid (hash/maphash, seeded per table),
// not the sid itself, so Learn allocates nothing beyond map growth. Two
// live sids colliding would send one of them to the other's server (the
// backend then rejects it and the client reconnects); with a random seed
// clients cannot aim for that, and by chance, with the default 2^18
// entries, the odds of any collision are below one in 10^8.
type SidTable struct {
	seed     maphash.Seed
	ttl      int64 // ns
	shardCap int
	shards   [sidShards]sidShard
}

type sidShard struct {
	mu sync.Mutex
	m  map[uint64]sidEntry
	_  [48]byte // keep neighbouring shards' locks off one cache line
}

type sidEntry struct {
	server  uint64
	expires int64 // Unix ns
}

// NewSidTable returns an empty table holding at most about size sids (0
// means DefaultSidTableSize), each forgotten after ttl without Learn or
// Lookup (0 means DefaultSidTTL).
func NewSidTable(size int, ttl time.Duration) *SidTable {
	if size <= 0 {
		size = DefaultSidTableSize
	}
	if ttl <= 0 {
		ttl = DefaultSidTTL
	}
	t := &SidTable{seed: maphash.MakeSeed(), ttl: int64(ttl), shardCap: max(1, (size+sidShards-1)/sidShards)}
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]sidEntry)
	}
	return t
}

func (t *SidTable) shard(sid []byte) (*sidShard, uint64) {
	k := maphash.Bytes(t.seed, sid)
	return &t.shards[k>>(64-sidShardBits)], k
}

// Learn implements SidStore. When the sid's shard is full, it first evicts
// an entry chosen from a small sample.
func (t *SidTable) Learn(sid []byte, server uint64, now time.Time) {
	ns := now.UnixNano()
	sh, k := t.shard(sid)
	sh.mu.Lock()
	if _, ok := sh.m[k]; !ok && len(sh.m) >= t.shardCap {
		sh.evict(ns)
	}
	sh.m[k] = sidEntry{server: server, expires: ns + t.ttl}
	sh.mu.Unlock()
}

// Lookup implements SidStore. It does not allocate.
func (t *SidTable) Lookup(sid []byte, now time.Time) (uint64, bool) {
	ns := now.UnixNano()
	sh, k := t.shard(sid)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.m[k]
	if !ok {
		return 0, false
	}
	if ns >= e.expires {
		delete(sh.m, k)
		return 0, false
	}
	e.expires = ns + t.ttl
	sh.m[k] = e
	return e.server, true
}

// Sweep implements SidStore. It locks one shard at a time.
func (t *SidTable) Sweep(now time.Time) int {
	ns := now.UnixNano()
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if ns >= e.expires {
				delete(sh.m, k)
				n++
			}
		}
		sh.mu.Unlock()
	}
	return n
}

// Len returns the number of entries, expired ones not yet swept included.
func (t *SidTable) Len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// evict removes the expired entries among a sample of the shard, or, if
// none is expired, the one of the sample idle longest. Map iteration starts
// at a random place, which makes the sample random. sh.mu is held.
func (sh *sidShard) evict(ns int64) {
	var victim uint64
	var oldest int64
	found, expired, seen := false, false, 0
	for k, e := range sh.m {
		if ns >= e.expires {
			delete(sh.m, k)
			expired = true
		} else if !found || e.expires < oldest {
			victim, oldest, found = k, e.expires, true
		}
		if seen++; seen == evictSample {
			break
		}
	}
	if !expired && found {
		delete(sh.m, victim)
	}
}

package sidshm

import "time"

// Store is one upstream's view of a shared Table; it implements
// balance.SidStore. Learn, Lookup and Sweep allocate nothing and take no
// lock (see the package doc for the protocol).
type Store struct {
	t    *Table
	salt uint64 // the upstream's name hashed with the table's seed
	ttl  uint64 // seconds
}

// claimTries bounds how often Learn looks again after losing a slot to
// another writer; past it the sid is not learnt (its requests go to the
// fallback policy), which takes 4 writers racing on one window.
const claimTries = 4

// Learn implements balance.SidStore. It replaces the sid's entry if the
// window holds one, else fills an empty or expired slot, else evicts the
// entry that expires soonest.
func (s *Store) Learn(sid []byte, server uint64, now time.Time) {
	h := hashBytes(s.salt, sid)
	k, sec := h|keyBit, unixSec(now)
	for range claimTries {
		e, old := s.t.target(h, k, sec)
		if e == nil {
			return // every slot of the window is being written
		}
		if !e.key.CompareAndSwap(old, claim(sec)) {
			continue
		}
		e.server.Store(server)
		e.expires.Store(seal(k, server, sec+s.ttl))
		e.key.Store(k) // publish last
		return
	}
}

// target chooses the slot Learn writes key k (hash h) into at sec, and
// returns it with the key word it holds: k's own slot, else the first
// empty, expired or abandoned one, else the one expiring soonest. It
// returns nil only when every slot of the window is claimed.
func (t *Table) target(h, k, sec uint64) (*slot, uint64) {
	var free, victim *slot
	var freeOld, victimOld, victimExp uint64
	for p := range uint64(probeLen) {
		e := &t.slots[(h+p)&t.mask]
		cur := e.key.Load()
		switch {
		case cur == k:
			return e, cur
		case cur == 0 || cur&keyBit == 0 && stale(cur, sec):
			if free == nil {
				free, freeOld = e, cur
			}
		case cur&keyBit == 0: // claimed by a live writer
		default:
			if !e.live(cur, sec) { // expired, or fields of two writers
				if free == nil {
					free, freeOld = e, cur
				}
			} else if x := expiry(e.expires.Load()); victim == nil || x < victimExp {
				victim, victimOld, victimExp = e, cur, x
			}
		}
	}
	if free != nil {
		return free, freeOld
	}
	return victim, victimOld
}

// Lookup implements balance.SidStore. A hit refreshes the entry's expiry
// when that moves it to a later second.
func (s *Store) Lookup(sid []byte, now time.Time) (uint64, bool) {
	h := hashBytes(s.salt, sid)
	k, sec := h|keyBit, unixSec(now)
	t := s.t
	for p := range uint64(probeLen) {
		e := &t.slots[(h+p)&t.mask]
		if e.key.Load() != k {
			continue
		}
		server, w := e.server.Load(), e.expires.Load()
		if e.key.Load() != k {
			continue // claimed meanwhile: server and w may be another key's
		}
		if !sealedBy(w, k, server) {
			continue // fields of two writers (see the package doc)
		}
		if x := expiry(w); x <= sec {
			continue // expired; a copy further on may not be (see the package doc)
		}
		if nw := seal(k, server, sec+s.ttl); expiry(nw) > expiry(w) {
			e.expires.CompareAndSwap(w, nw)
		}
		return server, true
	}
	return 0, false
}

// Sweep implements balance.SidStore for the whole table: it empties the
// slots expired at now, of every upstream, and the abandoned claims, and
// returns how many. Lookups ignore expired entries and Learn reuses their
// slots, so sweeping is never needed for correctness; it reads the whole
// table (about a millisecond for 2^18 slots).
func (s *Store) Sweep(now time.Time) int { return s.t.sweep(unixSec(now)) }

func (t *Table) sweep(sec uint64) int {
	n := 0
	for i := range t.slots {
		e := &t.slots[i]
		cur := e.key.Load()
		switch {
		case cur == 0:
		case cur&keyBit == 0:
			if stale(cur, sec) && e.key.CompareAndSwap(cur, 0) {
				n++
			}
		case !e.live(cur, sec):
			// Claim before emptying, and look at the entry again: the same
			// sid may have been learnt again since it was read.
			if !e.key.CompareAndSwap(cur, claim(sec)) {
				continue
			}
			if !e.live(cur, sec) {
				e.key.Store(0)
				n++
			} else {
				e.key.Store(cur)
			}
		}
	}
	return n
}

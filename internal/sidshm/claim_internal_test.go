package sidshm

import (
	"testing"
	"time"
)

var t0 = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

// claimedTable returns a table of one probe window whose every slot holds
// a claim made at t0, as writers stopped between claim and publication
// leave it.
func claimedTable(t *testing.T) *Table {
	t.Helper()
	f, err := Create(probeLen)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the mapping outlives the descriptor
	tab, err := Open(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tab.Close() })
	for i := range tab.slots {
		tab.slots[i].key.Store(claim(unixSec(t0)))
	}
	return tab
}

// TestStaleClaims fills a table with claims, as writers killed between
// claim and publication would leave it: Learn gives up while the claims
// are fresh, takes a slot over once they are stale, and Sweep empties the
// rest.
func TestStaleClaims(t *testing.T) {
	tab := claimedTable(t)
	s := tab.Store("u", time.Hour)
	sid := []byte("sid")
	for _, tc := range []struct {
		name   string
		at     time.Duration
		wantOK bool
	}{
		{"fresh claims", staleClaim * time.Second, false},
		{"stale claims", (staleClaim + 1) * time.Second, true},
	} {
		now := t0.Add(tc.at)
		s.Learn(sid, 5, now)
		if got, ok := s.Lookup(sid, now); ok != tc.wantOK || ok && got != 5 {
			t.Errorf("%s: Lookup = %d, %v; want 5, %v", tc.name, got, ok, tc.wantOK)
		}
	}
	if n := s.Sweep(t0.Add(2 * staleClaim * time.Second)); n != probeLen-1 {
		t.Errorf("Sweep = %d; want %d stale claims emptied", n, probeLen-1)
	}
	if n := tab.Len(t0.Add(2 * staleClaim * time.Second)); n != 1 {
		t.Errorf("Len = %d; want 1", n)
	}
}

// TestHashDeterministic pins the hash: every process must compute the same
// key for a sid, whatever its build.
func TestHashDeterministic(t *testing.T) {
	for _, tc := range []struct {
		seed uint64
		in   string
		want uint64
	}{
		{0, "", 0},
		{1, "lv_VI97HAXpY6yYWAAAC", 0x54729d2ff889494e},
		{0x0123456789abcdef, "abcdefgh", 0xf68cfbac6fd6b02a},
		{2, "a", 0x49b3af41b322b5e2},
	} {
		if got := hashBytes(tc.seed, []byte(tc.in)); got != tc.want {
			t.Errorf("hashBytes(%d, %q) = %#x; want %#x", tc.seed, tc.in, got, tc.want)
		}
	}
}

// TestLateWriter plays the race a stale-claim takeover allows: a writer
// claims a slot and stops; a minute later another writer takes the claim
// over and publishes its sid; then the first one resumes and stores its
// server into the slot. The slot now pairs one sid with another's server:
// Lookup must miss rather than route to that server, and Learn must reuse
// the slot.
func TestLateWriter(t *testing.T) {
	tab := claimedTable(t) // the stopped writers
	s := tab.Store("u", time.Hour)
	sid, now := []byte("sid"), t0.Add((staleClaim+1)*time.Second)
	s.Learn(sid, 5, now) // takes over a stale claim
	if got, ok := s.Lookup(sid, now); !ok || got != 5 {
		t.Fatalf("Lookup after takeover = %d, %v; want 5, true", got, ok)
	}
	k := hashBytes(s.salt, sid) | keyBit
	var e *slot
	for i := range tab.slots {
		if tab.slots[i].key.Load() == k {
			e = &tab.slots[i]
		}
	}
	if e == nil {
		t.Fatal("sid's slot not found")
	}
	e.server.Store(99) // the stopped writer resumes
	if got, ok := s.Lookup(sid, now); ok {
		t.Errorf("Lookup with another writer's server = %d, true; want a miss", got)
	}
	if n := tab.Len(now); n != 0 {
		t.Errorf("Len = %d; want 0 (the torn slot is no entry)", n)
	}
	s.Learn(sid, 6, now)
	if got, ok := s.Lookup(sid, now); !ok || got != 6 {
		t.Errorf("Lookup after learning again = %d, %v; want 6, true", got, ok)
	}
	if n := tab.Len(now); n != 1 {
		t.Errorf("Len = %d; want 1", n)
	}
}

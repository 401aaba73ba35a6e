package sidshm_test

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"wsproxy/balance"
	"wsproxy/internal/sidshm"
)

var _ balance.SidStore = (*sidshm.Store)(nil)

// t0 is the tests' clock origin, on a whole second.
var t0 = time.Date(2025, 11, 25, 12, 0, 0, 0, time.UTC)

// mapTwice creates a table of size slots and maps it twice, as two worker
// processes would: the two Tables share the memory but not an address.
func mapTwice(t testing.TB, size int) (a, b *sidshm.Table) {
	t.Helper()
	f, err := sidshm.Create(size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close() // the mappings outlive the descriptor
	if a, err = sidshm.Open(f); err != nil {
		t.Fatal(err)
	}
	if b, err = sidshm.Open(f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

// TestStore runs the cases of balance's TestSidTable against a Store,
// learning through one mapping and looking up through another, and against
// balance.SidTable, so that both stores keep the same contract.
func TestStore(t *testing.T) {
	const ttl = time.Minute
	type op struct {
		kind   string // "learn", "lookup", "sweep"
		sid    string
		server uint64
		at     time.Duration
		want   uint64 // lookup: server; sweep: count
		wantOK bool   // lookup
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{name: "learn then lookup", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "lookup", sid: "a", at: time.Second, want: 7, wantOK: true},
			{kind: "lookup", sid: "b", at: time.Second},
		}},
		{name: "relearn replaces", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "learn", sid: "a", server: 9, at: time.Second},
			{kind: "lookup", sid: "a", at: 2 * time.Second, want: 9, wantOK: true},
			{kind: "sweep", at: time.Hour, want: 1}, // one entry, not two
		}},
		{name: "server id zero", ops: []op{
			{kind: "learn", sid: "a", server: 0},
			{kind: "lookup", sid: "a", at: time.Second, want: 0, wantOK: true},
		}},
		{name: "empty sid", ops: []op{
			{kind: "learn", sid: "", server: 4},
			{kind: "lookup", sid: "", at: time.Second, want: 4, wantOK: true},
		}},
		{name: "expires after idle TTL", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "lookup", sid: "a", at: ttl - time.Second, want: 7, wantOK: true},
			{kind: "lookup", sid: "a", at: 3 * ttl},
		}},
		{name: "expired at exactly TTL", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "lookup", sid: "a", at: ttl},
		}},
		{name: "lookup refreshes", ops: []op{
			{kind: "learn", sid: "a", server: 7},
			{kind: "lookup", sid: "a", at: ttl - time.Second, want: 7, wantOK: true},
			{kind: "lookup", sid: "a", at: 2*ttl - 2*time.Second, want: 7, wantOK: true},
			{kind: "sweep", at: 2 * ttl, want: 0},
			{kind: "lookup", sid: "a", at: 3 * ttl},
		}},
		{name: "sweep counts expired", ops: []op{
			{kind: "learn", sid: "a", server: 1},
			{kind: "learn", sid: "b", server: 2},
			{kind: "learn", sid: "c", server: 3, at: ttl / 2},
			{kind: "sweep", at: ttl, want: 2},
			{kind: "lookup", sid: "c", at: ttl, want: 3, wantOK: true},
			{kind: "lookup", sid: "a", at: ttl},
		}},
		{name: "learn after expiry", ops: []op{
			{kind: "learn", sid: "a", server: 1},
			{kind: "learn", sid: "a", server: 2, at: 2 * ttl},
			{kind: "lookup", sid: "a", at: 2*ttl + time.Second, want: 2, wantOK: true},
		}},
	}
	stores := []struct {
		name string
		make func(t *testing.T) (learn, lookup balance.SidStore)
	}{
		{"shm one mapping", func(t *testing.T) (balance.SidStore, balance.SidStore) {
			a, _ := mapTwice(t, 1<<10)
			return a.Store("eio", ttl), a.Store("eio", ttl)
		}},
		{"shm two mappings", func(t *testing.T) (balance.SidStore, balance.SidStore) {
			a, b := mapTwice(t, 1<<10)
			return a.Store("eio", ttl), b.Store("eio", ttl)
		}},
		{"balance.SidTable", func(t *testing.T) (balance.SidStore, balance.SidStore) {
			tab := balance.NewSidTable(1<<10, ttl)
			return tab, tab
		}},
	}
	for _, st := range stores {
		for _, tt := range tests {
			t.Run(st.name+"/"+tt.name, func(t *testing.T) {
				learn, lookup := st.make(t)
				for i, o := range tt.ops {
					now := t0.Add(o.at)
					switch o.kind {
					case "learn":
						learn.Learn([]byte(o.sid), o.server, now)
					case "lookup":
						got, ok := lookup.Lookup([]byte(o.sid), now)
						if got != o.want || ok != o.wantOK {
							t.Errorf("op %d: Lookup(%q) = %d, %v; want %d, %v", i, o.sid, got, ok, o.want, o.wantOK)
						}
					case "sweep":
						if got := lookup.Sweep(now); uint64(got) != o.want {
							t.Errorf("op %d: Sweep = %d; want %d", i, got, o.want)
						}
					}
				}
			})
		}
	}
}

// TestStoreUpstreamsApart checks that the same sid learnt for two
// upstreams of one table makes two entries.
func TestStoreUpstreamsApart(t *testing.T) {
	a, b := mapTwice(t, 0)
	if a.Size() != balance.DefaultSidTableSize {
		t.Errorf("Size = %d; want balance.DefaultSidTableSize (%d)", a.Size(), balance.DefaultSidTableSize)
	}
	sid := []byte("lv_VI97HAXpY6yYWAAAC")
	a.Store("one", 0).Learn(sid, 1, t0)
	if got, ok := b.Store("two", 0).Lookup(sid, t0); ok {
		t.Errorf("upstream two: Lookup = %d, true; want a miss", got)
	}
	b.Store("two", 0).Learn(sid, 2, t0)
	for name, want := range map[string]uint64{"one": 1, "two": 2} {
		if got, ok := a.Store(name, 0).Lookup(sid, t0); !ok || got != want {
			t.Errorf("upstream %s: Lookup = %d, %v; want %d, true", name, got, ok, want)
		}
	}
	if n := a.Len(t0); n != 2 {
		t.Errorf("Len = %d; want 2", n)
	}
	// The default TTL applies: live just before it, gone at it.
	if _, ok := b.Store("one", 0).Lookup(sid, t0.Add(balance.DefaultSidTTL-time.Second)); !ok {
		t.Errorf("Lookup before the default TTL missed")
	}
}

// TestStoreFullWindowEvictsSoonest fills a table of 16 slots, where every
// window is the whole table, and checks that each further Learn evicts the
// entry that expires soonest, taking into account refreshes by Lookup.
func TestStoreFullWindowEvictsSoonest(t *testing.T) {
	a, b := mapTwice(t, 1)
	if a.Size() != 16 {
		t.Fatalf("Size = %d; want 16 (the probe length)", a.Size())
	}
	sa, sb := a.Store("u", time.Hour), b.Store("u", time.Hour)
	sid := func(i int) []byte { return fmt.Appendf(nil, "sid-%d", i) }
	for i := range 16 {
		sa.Learn(sid(i), uint64(i), t0.Add(time.Duration(i)*time.Second))
	}
	// sid-0 is used again: sid-1 now expires soonest.
	if _, ok := sb.Lookup(sid(0), t0.Add(20*time.Second)); !ok {
		t.Fatal("sid-0 missing from a table with room for it")
	}
	for i := 16; i < 20; i++ {
		sb.Learn(sid(i), uint64(i), t0.Add(time.Duration(i+10)*time.Second))
	}
	now := t0.Add(time.Minute)
	for i := range 20 {
		got, ok := sa.Lookup(sid(i), now)
		wantOK := i == 0 || i >= 5 // sid-1 to sid-4 were evicted
		if ok != wantOK || ok && got != uint64(i) {
			t.Errorf("Lookup(sid-%d) = %d, %v; want %d, %v", i, got, ok, i, wantOK)
		}
	}
	if n := a.Len(now); n != 16 {
		t.Errorf("Len = %d; want 16", n)
	}
}

// TestStoreReusesExpiredFirst checks that Learn into a full window takes
// an expired slot rather than evicting a live entry.
func TestStoreReusesExpiredFirst(t *testing.T) {
	a, _ := mapTwice(t, 16)
	short, long := a.Store("u", time.Minute), a.Store("u", time.Hour)
	for i := range 8 {
		long.Learn(fmt.Appendf(nil, "long-%d", i), 1, t0)
		short.Learn(fmt.Appendf(nil, "short-%d", i), 2, t0)
	}
	later := t0.Add(10 * time.Minute)
	for i := range 8 {
		long.Learn(fmt.Appendf(nil, "new-%d", i), 3, later)
	}
	for i := range 8 {
		if _, ok := long.Lookup(fmt.Appendf(nil, "long-%d", i), later); !ok {
			t.Errorf("long-%d evicted; want the expired short-* slots reused", i)
		}
		if _, ok := long.Lookup(fmt.Appendf(nil, "new-%d", i), later); !ok {
			t.Errorf("new-%d not learnt", i)
		}
	}
	if n := a.Store("u", 0).Sweep(later); n != 0 {
		t.Errorf("Sweep = %d; want 0 (expired slots were reused)", n)
	}
}

// TestStoreConcurrent has goroutines learn distinct sids through one
// mapping and look them up through the other, while others learn and look
// up in a table far too small so that slots are evicted and reused under
// the readers. A Lookup must return the server learnt for its own sid or
// miss, never another sid's server. Run it with -race.
//
// Each goroutine's simulated clock advances by step per sid. In the roomy
// table, where every Lookup must hit, the clocks stay within staleClaim of
// each other (300 steps of 100 ms: 30 s), so no writer takes over another's
// claim: the slot of a writer preempted between its claim and its
// publication is left to it, and no sid learnt is lost. In the evicting
// table the clocks run a second per sid, minutes apart across goroutines,
// so that claims are taken over there too (a Lookup may then miss, never
// return another sid's server).
func TestStoreConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		step     time.Duration // of the simulated clock, per sid
		mustFind bool          // every sid stays in the table
	}{
		{"roomy", 1 << 14, 100 * time.Millisecond, true},
		{"evicting", 16, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mapTwice(t, tc.size)
			const goroutines, sids = 8, 300
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := range goroutines {
				wg.Go(func() {
					la, lb := a.Store("u", time.Hour), b.Store("u", time.Hour)
					if g%2 == 1 {
						la, lb = lb, la
					}
					for i := range sids {
						sid := fmt.Appendf(nil, "g%d-sid-%d", g, i)
						server := uint64(g)<<32 | uint64(i)
						now := t0.Add(time.Duration(i) * tc.step)
						la.Learn(sid, server, now)
						for j := range 3 {
							got, ok := lb.Lookup(sid, now.Add(time.Duration(j)*time.Second))
							if ok && got != server || !ok && tc.mustFind {
								errs <- fmt.Errorf("Lookup(%s) = %#x, %v; want %#x", sid, got, ok, server)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if n := a.Len(t0.Add(sids * tc.step)); tc.mustFind && n != goroutines*sids {
				t.Errorf("Len = %d; want %d", n, goroutines*sids)
			}
		})
	}
}

// TestStoreSameSidRace has goroutines learn one sid with different
// servers while others look it up: every hit is one of those servers.
func TestStoreSameSidRace(t *testing.T) {
	a, b := mapTwice(t, 64)
	sid := []byte("contended")
	a.Store("u", time.Hour).Learn(sid, 100, t0)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			s := []*sidshm.Store{a.Store("u", time.Hour), b.Store("u", time.Hour)}[g%2]
			for i := range 2000 {
				if g < 4 {
					s.Learn(sid, uint64(100+g), t0.Add(time.Duration(i)*time.Second))
					continue
				}
				if got, ok := s.Lookup(sid, t0.Add(time.Duration(i)*time.Second)); ok && (got < 100 || got > 103) {
					errs <- fmt.Errorf("Lookup = %d; want 100 to 103", got)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Racing Learns of one sid may leave copies; later Learns and Lookups
	// both use the first in the window.
	if n := a.Len(t0.Add(time.Hour)); n < 1 || n > 4 {
		t.Errorf("Len = %d; want 1 to 4 entries for the one sid", n)
	}
	now := t0.Add(time.Hour)
	a.Store("u", time.Hour).Learn(sid, 200, now)
	if got, ok := b.Store("u", time.Hour).Lookup(sid, now); !ok || got != 200 {
		t.Errorf("Lookup after the race = %d, %v; want 200, true", got, ok)
	}
}

func TestOpenRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte("wspxsid1")},
		{"bad magic", make([]byte, 64+16*24)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.CreateTemp(t.TempDir(), "table")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(tc.data); err != nil {
				t.Fatal(err)
			}
			if tab, err := sidshm.Open(f); !errors.Is(err, sidshm.ErrFormat) {
				if tab != nil {
					tab.Close()
				}
				t.Errorf("Open = %v; want sidshm.ErrFormat", err)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		f, err := sidshm.Create(64)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.Truncate(64 + 32*24); err != nil {
			t.Fatal(err)
		}
		if _, err := sidshm.Open(f); !errors.Is(err, sidshm.ErrFormat) {
			t.Errorf("Open = %v; want sidshm.ErrFormat", err)
		}
	})
	t.Run("too large", func(t *testing.T) {
		if _, err := sidshm.Create(sidshm.MaxSize + 1); !errors.Is(err, sidshm.ErrSize) {
			t.Errorf("Create = %v; want sidshm.ErrSize", err)
		}
	})
}

func TestStoreNoAlloc(t *testing.T) {
	a, _ := mapTwice(t, 1<<10)
	s := a.Store("eio", 0)
	sid := []byte("lv_VI97HAXpY6yYWAAAC")
	s.Learn(sid, 3, t0)
	for name, f := range map[string]func(){
		"Lookup":      func() { s.Lookup(sid, t0) },
		"Lookup miss": func() { s.Lookup([]byte("unknown"), t0) },
		"Learn":       func() { s.Learn(sid, 3, t0) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %v times; want 0", name, n)
		}
	}
}

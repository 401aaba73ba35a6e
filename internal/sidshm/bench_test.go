package sidshm_test

import (
	"fmt"
	"testing"
	"time"

	"wsproxy/balance"
)

// BenchmarkStore compares the shared table with balance.SidTable, the
// in-process store, at the default size with 2^16 live sessions. Learn and
// Lookup cycle through all of them, so they mostly measure cache and TLB
// misses; LookupHot and LookupMiss repeat one sid.
func BenchmarkStore(b *testing.B) {
	const live = 1 << 16
	sids := make([][]byte, live)
	for i := range sids {
		sids[i] = fmt.Appendf(nil, "lv_VI97HAXp%09dAC", i) // Engine.IO sids are 20 bytes
	}
	a, _ := mapTwice(b, 0)
	for _, st := range []struct {
		name  string
		store balance.SidStore
	}{
		{"shm", a.Store("eio", time.Hour)},
		{"SidTable", balance.NewSidTable(0, time.Hour)},
	} {
		for i, sid := range sids {
			st.store.Learn(sid, uint64(i), t0)
		}
		b.Run(st.name+"/Learn", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				st.store.Learn(sids[i%live], uint64(i), t0)
			}
		})
		b.Run(st.name+"/Lookup", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, ok := st.store.Lookup(sids[i%live], t0); !ok {
					b.Fatal("miss")
				}
			}
		})
		b.Run(st.name+"/LookupHot", func(b *testing.B) { // one sid: no cache misses
			b.ReportAllocs()
			for b.Loop() {
				st.store.Lookup(sids[7], t0)
			}
		})
		b.Run(st.name+"/LookupMiss", func(b *testing.B) {
			b.ReportAllocs()
			miss := []byte("lv_VI97HAXpunknownAC")
			for b.Loop() {
				st.store.Lookup(miss, t0)
			}
		})
		b.Run(st.name+"/LookupParallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					st.store.Lookup(sids[i%live], t0)
				}
			})
		})
	}
}

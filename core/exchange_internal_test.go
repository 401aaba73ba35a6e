package core

import "testing"

// TestExchangeFreeList: an exchange returned to the loop is taken again by
// the next request, however many came before; the count of the free list
// follows its length. (It once counted returns only, so after 1,024 of
// them every request allocated a new exchange: 1,952 allocations for 4,000
// WebSocket handshakes one after another, ~290 B of garbage each.)
func TestExchangeFreeList(t *testing.T) {
	l := &Loop{}
	c := &conn{cl: endpoint{l: l}}
	for range 3 * maxFreeExchanges {
		c.beginExchange()
		c.endExchange()
	}
	if l.nfreeX != 1 {
		t.Fatalf("free list count after requests one at a time = %d; want 1", l.nfreeX)
	}
	if n := testing.AllocsPerRun(100, func() { c.beginExchange(); c.endExchange() }); n != 0 {
		t.Fatalf("allocations per request after warm-up = %v; want 0", n)
	}
	// Several at once: each returns to the list, which then holds them all.
	cs := make([]conn, 10)
	for i := range cs {
		cs[i].cl.l = l
		cs[i].beginExchange()
	}
	for i := range cs {
		cs[i].endExchange()
	}
	if l.nfreeX != len(cs) {
		t.Fatalf("free list count after %d at once = %d; want %d", len(cs), l.nfreeX, len(cs))
	}
}

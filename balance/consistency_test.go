package balance_test

import (
	"fmt"
	"slices"
	"testing"

	"wsproxy/balance"
)

// consistencyKeys is the number of keys the consistency tests move around.
const consistencyKeys = 100000

// assign returns the letter of the server each request is sent to.
func assign(t testing.TB, p *balance.Pool, reqs []*fakeReq) []string {
	got := make([]string, len(reqs))
	for i, r := range reqs {
		got[i] = pickAt(t, p, r, t0)
	}
	return got
}

func hashPool(t testing.TB, servers []balance.ServerConfig) *balance.Pool {
	return mustPool(t, servers, balance.Config{Policy: balance.PolicyHash, HashKey: "header:X-Key"})
}

// without returns servers less the one at index k.
func without(servers []balance.ServerConfig, k int) []balance.ServerConfig {
	return slices.Delete(slices.Clone(servers), k, k+1)
}

// TestConsistencyRemove removes each server of N in turn, from the
// configuration and by health, and checks that exactly the keys it had move
// and that they spread over the rest.
func TestConsistencyRemove(t *testing.T) {
	reqs := headerKeys(consistencyKeys)
	tests := []struct {
		name    string
		servers []balance.ServerConfig
	}{
		{name: "N=3", servers: letters(1, 1, 1)},
		{name: "N=4", servers: letters(1, 1, 1, 1)},
		{name: "N=5", servers: letters(1, 1, 1, 1, 1)},
		{name: "N=3 weighted 2 1 1", servers: letters(2, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			removeEach(t, reqs, tt.servers)
		})
	}
}

// removeEach is TestConsistencyRemove for one list of servers.
func removeEach(t *testing.T, reqs []*fakeReq, servers []balance.ServerConfig) {
	base := hashPool(t, servers)
	before := assign(t, base, reqs)
	total := 0
	for _, s := range servers {
		total += s.Weight
	}
	for k, gone := range servers {
		name := gone.Addr[:1]
		share := float64(gone.Weight) / float64(total) // 1/N when unweighted
		t.Run("remove "+name, func(t *testing.T) {
			after := assign(t, hashPool(t, without(servers, k)), reqs)
			moved, movedTo := 0, map[string]int{}
			for i := range reqs {
				if before[i] == name {
					moved++
					movedTo[after[i]]++
				} else if after[i] != before[i] {
					t.Fatalf("key %d moved %s -> %s though %s stayed", i, before[i], after[i], before[i])
				}
			}
			frac := float64(moved) / consistencyKeys
			t.Logf("moved %.4f of keys (want ≈ %.4f); the removed server's keys went to %v", frac, share, movedTo)
			if frac < share-0.01 || frac > share+0.01 {
				t.Errorf("moved fraction %.4f; want %.4f ± 0.01", frac, share)
			}
			for _, s := range without(servers, k) {
				want := float64(moved) * float64(s.Weight) / float64(total-gone.Weight)
				if got := float64(movedTo[s.Addr[:1]]); got < want*0.95 || got > want*1.05 {
					t.Errorf("%s took %v of the %d moved keys; want %.0f ± 5%%", s.Addr, got, moved, want)
				}
			}

			// Down by health instead of by configuration: the same keys
			// move to the same places, and come back on recovery.
			base.Servers()[k].MarkDown()
			if down := assign(t, base, reqs); !slices.Equal(down, after) {
				t.Errorf("marking %s down moved keys differently from removing it", name)
			}
			base.Servers()[k].MarkUp()
			if up := assign(t, base, reqs); !slices.Equal(up, before) {
				t.Errorf("keys did not come back after %s recovered", name)
			}
		})
	}
}

// TestConsistencyAdd adds a server to N and checks that the keys that move
// all go to it and are about 1/(N+1) of them.
func TestConsistencyAdd(t *testing.T) {
	reqs := headerKeys(consistencyKeys)
	for _, n := range []int{2, 3, 4} {
		t.Run(fmt.Sprintf("N=%d+1", n), func(t *testing.T) {
			t.Parallel()
			servers := letters(slices.Repeat([]int{1}, n+1)...)
			before := assign(t, hashPool(t, servers[:n]), reqs)
			after := assign(t, hashPool(t, servers), reqs)
			added := servers[n].Addr[:1]
			moved := 0
			for i := range reqs {
				if after[i] == before[i] {
					continue
				}
				if after[i] != added {
					t.Fatalf("key %d moved %s -> %s, not to the new server %s", i, before[i], after[i], added)
				}
				moved++
			}
			frac, want := float64(moved)/consistencyKeys, 1/float64(n+1)
			t.Logf("adding 1 to %d moved %.4f of keys (want ≈ %.4f)", n, frac, want)
			if frac < want-0.01 || frac > want+0.01 {
				t.Errorf("moved fraction %.4f; want %.4f ± 0.01", frac, want)
			}
		})
	}
}

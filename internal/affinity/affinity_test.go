package affinity

import (
	"slices"
	"testing"
)

// TestPlan: a slot's CPUs start at its home CPU and wrap around the
// allowed ones; procs is clamped to [1, len(allowed)].
func TestPlan(t *testing.T) {
	for _, c := range []struct {
		allowed     []int
		slot, procs int
		want        []int
	}{
		{[]int{0, 1}, 0, 1, []int{0}},
		{[]int{0, 1}, 1, 1, []int{1}},
		{[]int{0, 1}, 2, 1, []int{0}},
		{[]int{0, 1}, 1, 2, []int{1, 0}},
		{[]int{0, 1}, 0, 3, []int{0, 1}},
		{[]int{0, 1}, 0, 0, []int{0}},
		{[]int{2, 5, 7}, 4, 2, []int{5, 7}},
		{[]int{3}, 9, 4, []int{3}},
		{nil, 0, 1, nil},
	} {
		if got := Plan(c.allowed, c.slot, c.procs); !slices.Equal(got, c.want) {
			t.Errorf("Plan(%v, %d, %d) = %v; want %v", c.allowed, c.slot, c.procs, got, c.want)
		}
	}
}

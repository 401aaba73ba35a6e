package timer_test

import (
	"slices"
	"testing"
	"time"

	"wsproxy/internal/timer"
)

const tick = 100 * time.Millisecond

// item is what a test schedules: an entry whose Owner points back at it.
type item struct {
	name string
	e    timer.Entry
}

func newItems(names ...string) map[string]*item {
	m := make(map[string]*item)
	for _, n := range names {
		it := &item{name: n}
		it.e.Owner = it
		m[n] = it
	}
	return m
}

// advance runs w.Advance and returns the sorted names fired.
func advance(w *timer.Wheel, now time.Time) []string {
	var got []string
	w.Advance(now, func(e *timer.Entry) { got = append(got, e.Owner.(*item).name) })
	slices.Sort(got)
	return got
}

func TestFireTimes(t *testing.T) {
	type sched struct {
		name string
		at   time.Duration // after the origin
	}
	type step struct {
		at   time.Duration // Advance to origin+at
		want []string
	}
	tests := []struct {
		name  string
		slots int
		sched []sched
		steps []step
	}{
		{
			name:  "on tick boundary",
			sched: []sched{{"a", 3 * tick}},
			steps: []step{{2 * tick, nil}, {3*tick - 1, nil}, {3 * tick, []string{"a"}}, {4 * tick, nil}},
		},
		{
			name:  "rounded up to the tick",
			sched: []sched{{"a", 3*tick + 1}},
			steps: []step{{3*tick + 1, nil}, {4*tick - 1, nil}, {4 * tick, []string{"a"}}},
		},
		{
			name:  "several in one advance",
			sched: []sched{{"a", tick}, {"b", 2 * tick}, {"c", 5 * tick}},
			steps: []step{{2 * tick, []string{"a", "b"}}, {10 * tick, []string{"c"}}},
		},
		{
			name:  "past deadline fires on next advance",
			sched: []sched{{"a", -time.Hour}},
			steps: []step{{0, []string{"a"}}},
		},
		{
			name:  "beyond one revolution",
			slots: 64,
			sched: []sched{{"far", 64*tick + 2*tick}, {"near", 2 * tick}},
			steps: []step{{2 * tick, []string{"near"}}, {64 * tick, nil}, {66 * tick, []string{"far"}}},
		},
		{
			name:  "several revolutions in one jump",
			slots: 64,
			sched: []sched{{"a", 5 * tick}, {"b", 130 * tick}, {"c", 500 * tick}},
			steps: []step{{200 * tick, []string{"a", "b"}}, {499 * tick, nil}, {500 * tick, []string{"c"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slots := tt.slots
			if slots == 0 {
				slots = 1024
			}
			w := timer.New(tick, slots)
			o := w.Origin()
			var names []string
			for _, s := range tt.sched {
				names = append(names, s.name)
			}
			items := newItems(names...)
			for _, s := range tt.sched {
				w.Schedule(&items[s.name].e, o.Add(s.at))
			}
			if w.Len() != len(tt.sched) {
				t.Fatalf("Len = %d; want %d", w.Len(), len(tt.sched))
			}
			for _, st := range tt.steps {
				got := advance(w, o.Add(st.at))
				if !slices.Equal(got, st.want) {
					t.Errorf("Advance(origin+%v) fired %v; want %v", st.at, got, st.want)
				}
			}
			if w.Len() != 0 {
				t.Errorf("Len after all fired = %d; want 0", w.Len())
			}
		})
	}
}

func TestReschedule(t *testing.T) {
	w := timer.New(tick, 1024)
	o := w.Origin()
	it := newItems("a")["a"]
	w.Schedule(&it.e, o.Add(2*tick))
	w.Schedule(&it.e, o.Add(5*tick))
	if w.Len() != 1 {
		t.Fatalf("Len after reschedule = %d; want 1", w.Len())
	}
	if got := advance(w, o.Add(2*tick)); got != nil {
		t.Errorf("fired %v at the old deadline; want nothing", got)
	}
	if got := advance(w, o.Add(5*tick)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("fired %v at the new deadline; want [a]", got)
	}
}

func TestCancel(t *testing.T) {
	w := timer.New(tick, 1024)
	o := w.Origin()
	items := newItems("a", "b")
	var never timer.Entry
	w.Cancel(&never) // not scheduled: no-op
	w.Schedule(&items["a"].e, o.Add(tick))
	w.Schedule(&items["b"].e, o.Add(tick))
	w.Cancel(&items["a"].e)
	w.Cancel(&items["a"].e)
	if items["a"].e.Scheduled() || !items["b"].e.Scheduled() {
		t.Errorf("Scheduled = %v, %v; want false, true", items["a"].e.Scheduled(), items["b"].e.Scheduled())
	}
	if w.Len() != 1 {
		t.Errorf("Len = %d; want 1", w.Len())
	}
	if got := advance(w, o.Add(tick)); !slices.Equal(got, []string{"b"}) {
		t.Errorf("fired %v; want [b]", got)
	}
}

func TestFireMutates(t *testing.T) {
	tests := []struct {
		name   string
		fire   func(w *timer.Wheel, items map[string]*item, o time.Time, e *timer.Entry)
		first  []string // fired by Advance(origin+tick)
		nfirst int      // if set, only how many the first Advance fired is checked
		then   []string // fired by Advance(origin+3*tick)
		len    int      // Len at the end
	}{
		{
			name: "cancel the other",
			fire: func(w *timer.Wheel, items map[string]*item, o time.Time, e *timer.Entry) {
				w.Cancel(&items["a"].e)
				w.Cancel(&items["b"].e)
			},
			nfirst: 1, // whichever fires first cancels the other
		},
		{
			name: "reschedule itself later",
			fire: func(w *timer.Wheel, items map[string]*item, o time.Time, e *timer.Entry) {
				if e.Owner.(*item).name == "a" {
					w.Schedule(e, o.Add(3*tick))
				}
			},
			first: []string{"a", "b"},
			then:  []string{"a"},
			len:   1,
		},
		{
			name: "reschedule into the past waits for the next advance",
			fire: func(w *timer.Wheel, items map[string]*item, o time.Time, e *timer.Entry) {
				if n := e.Owner.(*item).name; n == "a" || n == "b" {
					w.Schedule(&items["c"].e, o)
				}
			},
			first: []string{"a", "b"},
			then:  []string{"c"},
		},
		{
			name: "schedule a new entry far away",
			fire: func(w *timer.Wheel, items map[string]*item, o time.Time, e *timer.Entry) {
				w.Schedule(&items["c"].e, o.Add(time.Hour))
			},
			first: []string{"a", "b"},
			len:   1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := timer.New(tick, 1024)
			o := w.Origin()
			items := newItems("a", "b", "c")
			w.Schedule(&items["a"].e, o.Add(tick))
			w.Schedule(&items["b"].e, o.Add(tick))
			var fired []string
			fire := func(e *timer.Entry) {
				fired = append(fired, e.Owner.(*item).name)
				tt.fire(w, items, o, e)
			}
			w.Advance(o.Add(tick), fire)
			if tt.nfirst != 0 {
				if len(fired) != tt.nfirst {
					t.Errorf("first Advance fired %v; want %d entries", fired, tt.nfirst)
				}
			} else if slices.Sort(fired); !slices.Equal(fired, tt.first) {
				t.Errorf("first Advance fired %v; want %v", fired, tt.first)
			}
			fired = nil
			w.Advance(o.Add(3*tick), fire)
			if slices.Sort(fired); !slices.Equal(fired, tt.then) {
				t.Errorf("second Advance fired %v; want %v", fired, tt.then)
			}
			if w.Len() != tt.len {
				t.Errorf("Len = %d; want %d", w.Len(), tt.len)
			}
		})
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		name    string
		sched   []time.Duration
		advance time.Duration // Advance to origin+advance first
		now     time.Duration
		want    time.Duration
	}{
		{name: "empty", now: 0, want: -1},
		{name: "one entry", sched: []time.Duration{3 * tick}, now: tick / 2, want: 3*tick - tick/2},
		{name: "rounded up", sched: []time.Duration{2*tick + 1}, now: 0, want: 3 * tick},
		{name: "earliest wins", sched: []time.Duration{9 * tick, 4 * tick}, now: 0, want: 4 * tick},
		{name: "past deadline is due", sched: []time.Duration{-tick}, now: 0, want: 0},
		{name: "advance behind now", sched: []time.Duration{2 * tick}, now: 5 * tick, want: 0},
		{
			name:  "far entry bounds to its slot",
			sched: []time.Duration{1024*tick + 3*tick},
			now:   0, want: 3 * tick,
		},
		{
			name:    "far entry after advance skips its early slot",
			sched:   []time.Duration{1024*tick + 3*tick},
			advance: 10 * tick,
			now:     10 * tick, want: 1017 * tick,
		},
		{
			name:  "far entry with advance behind is not due",
			sched: []time.Duration{1024*tick + 3*tick},
			now:   10 * tick, want: 1017 * tick,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := timer.New(tick, 1024)
			o := w.Origin()
			entries := make([]timer.Entry, len(tt.sched))
			for i, at := range tt.sched {
				w.Schedule(&entries[i], o.Add(at))
			}
			if tt.advance != 0 {
				w.Advance(o.Add(tt.advance), func(*timer.Entry) {})
			}
			if got := w.Next(o.Add(tt.now)); got != tt.want {
				t.Errorf("Next(origin+%v) = %v; want %v", tt.now, got, tt.want)
			}
		})
	}
}

// TestRandom checks against a brute-force model that every entry fires
// exactly once, never early and within one tick after its deadline.
func TestRandom(t *testing.T) {
	w := timer.New(tick, 64)
	o := w.Origin()
	const n = 500
	entries := make([]timer.Entry, n)
	deadline := make([]time.Duration, n)
	for i := range entries {
		entries[i].Owner = i
		deadline[i] = time.Duration((i*7919)%(300*int(tick/time.Millisecond))) * time.Millisecond
		w.Schedule(&entries[i], o.Add(deadline[i]))
	}
	fired := make([]bool, n)
	for now := time.Duration(0); w.Len() > 0; now += 37 * time.Millisecond {
		w.Advance(o.Add(now), func(e *timer.Entry) {
			i := e.Owner.(int)
			if fired[i] {
				t.Errorf("entry %d fired twice", i)
			}
			fired[i] = true
			if now < deadline[i] || now >= deadline[i]+tick+37*time.Millisecond {
				t.Errorf("entry %d (deadline %v) fired at %v", i, deadline[i], now)
			}
		})
		earliest := time.Duration(-1)
		for i, d := range deadline {
			if !fired[i] && (earliest < 0 || d < earliest) {
				earliest = d
			}
		}
		d := w.Next(o.Add(now))
		switch {
		case earliest < 0 && d != -1:
			t.Fatalf("Next = %v with nothing scheduled; want -1", d)
		case earliest >= 0 && d <= 0:
			t.Fatalf("Next = %v right after Advance at %v; want > 0", d, now)
		case earliest >= 0 && now+d > (earliest+tick-1)/tick*tick:
			t.Fatalf("Next at %v = %v; past the earliest deadline %v rounded to its tick", now, d, earliest)
		}
		if now > time.Hour {
			t.Fatalf("entries left after an hour: %d", w.Len())
		}
	}
}

func BenchmarkScheduleCancel(b *testing.B) {
	w := timer.New(tick, 1024)
	entries := make([]timer.Entry, 1024)
	now := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := &entries[i&1023]
		w.Schedule(e, now.Add(time.Duration(i&4095)*time.Millisecond*50))
		if i&1 == 1 {
			w.Cancel(e)
		}
		i++
	}
}

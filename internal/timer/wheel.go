// Package timer is a hashed timing wheel for the coarse timeouts of one
// event loop (handshake, idle, drain): Schedule, Cancel and Advance are
// O(1) per entry and allocate nothing.
//
// A Wheel is owned by a single goroutine, the loop that calls Advance. It
// takes no locks; other goroutines must not touch it or its entries, but
// hand work to the loop through the loop's wake-up queue instead.
//
// Entries are intrusive: the owner of a timeout embeds or holds an Entry
// and sets Entry.Owner once, so scheduling allocates nothing and the fire
// callback gets back to its owner with a type assertion:
//
//	type conn struct {
//		idle timer.Entry // idle.Owner = c, set when c is created
//		...
//	}
//
//	w.Advance(now, func(e *timer.Entry) { e.Owner.(*conn).timeout() })
//
// Time is cut into ticks. A deadline is rounded up to the end of its tick,
// so an entry never fires early and fires at most one tick (plus the loop's
// own latency) late. The wheel has a fixed number of slots; an entry further
// away than one revolution keeps its exact tick and is skipped each time its
// slot comes round until it is due.
package timer

import (
	"math/bits"
	"time"
)

// Entry is one pending timeout. Its zero value is ready to use and not
// scheduled. An Entry must not be copied while it is scheduled.
type Entry struct {
	// Owner is for the caller: typically a pointer to the struct holding the
	// Entry, set once so that the fire callback can find it. Storing a
	// pointer in Owner does not allocate. The Wheel never reads it.
	Owner any

	next, prev *Entry
	w          *Wheel // nil when not scheduled
	tick       int64  // deadline, in ticks since the wheel's origin
	slot       int32  // index into Wheel.lists
}

// Scheduled reports whether e is waiting in a Wheel.
func (e *Entry) Scheduled() bool { return e.w != nil }

// Wheel is a hashed timing wheel. Create it with New.
type Wheel struct {
	tick   time.Duration
	origin time.Time
	mask   int64
	cur    int64 // every tick <= cur has been advanced over
	count  int

	// lists holds one circular list per slot, then the due list (entries
	// scheduled at or before cur) and the firing list used by Advance.
	lists    []Entry
	nonEmpty []uint64 // bit per slot whose list is non-empty
	cursor   Entry    // marks Advance's position in a list
}

// New returns a Wheel with the given tick (the timer resolution) and number
// of slots, rounded up to a power of two of at least 64; tick*slots is one
// revolution. For example New(100*time.Millisecond, 1024) resolves to
// 100 ms and keeps deadlines up to 102 s away in their own slot.
func New(tick time.Duration, slots int) *Wheel {
	if tick <= 0 {
		panic("timer: non-positive tick")
	}
	if slots < 64 {
		slots = 64
	}
	n := 1 << bits.Len(uint(slots-1))
	w := &Wheel{
		tick:     tick,
		origin:   time.Now(),
		mask:     int64(n - 1),
		lists:    make([]Entry, n+2),
		nonEmpty: make([]uint64, n/64),
	}
	for i := range w.lists {
		w.lists[i].next = &w.lists[i]
		w.lists[i].prev = &w.lists[i]
	}
	return w
}

func (w *Wheel) dueList() int32    { return int32(len(w.lists) - 2) }
func (w *Wheel) firingList() int32 { return int32(len(w.lists) - 1) }

// Len returns the number of scheduled entries.
func (w *Wheel) Len() int { return w.count }

// ticksUntil returns how many whole ticks lie between the origin and t,
// rounded down (up when ceil is set).
func (w *Wheel) ticksUntil(t time.Time, ceil bool) int64 {
	d := t.Sub(w.origin)
	q, r := int64(d/w.tick), d%w.tick
	if r < 0 && !ceil {
		q--
	} else if r > 0 && ceil {
		q++
	}
	return q
}

// Schedule arranges for e to fire at the first Advance whose now is at or
// after at (rounded up to a tick). If e is already scheduled, in this or
// another Wheel, it is moved. A deadline already past fires on the next
// Advance.
func (w *Wheel) Schedule(e *Entry, at time.Time) {
	if e.w != nil {
		e.w.remove(e)
	}
	e.tick = w.ticksUntil(at, true)
	slot := int32(e.tick & w.mask)
	if e.tick <= w.cur {
		slot = w.dueList()
	}
	w.insert(e, slot)
}

// Cancel unschedules e. It is a no-op if e is not scheduled.
func (w *Wheel) Cancel(e *Entry) {
	if e.w != nil {
		e.w.remove(e)
	}
}

func (w *Wheel) insert(e *Entry, slot int32) {
	head := &w.lists[slot]
	e.slot = slot
	e.w = w
	e.prev = head.prev
	e.next = head
	head.prev.next = e
	head.prev = e
	w.count++
	if int64(slot) <= w.mask {
		w.nonEmpty[slot>>6] |= 1 << (slot & 63)
	}
}

func (w *Wheel) remove(e *Entry) {
	unlink(e)
	w.count--
	w.emptied(e.slot)
	e.w = nil
}

// emptied clears the slot's bit if its list has become empty.
func (w *Wheel) emptied(slot int32) {
	if head := &w.lists[slot]; head.next == head && int64(slot) <= w.mask {
		w.nonEmpty[slot>>6] &^= 1 << (slot & 63)
	}
}

func unlink(e *Entry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.next, e.prev = nil, nil
}

func insertAfter(at, e *Entry) {
	e.prev = at
	e.next = at.next
	at.next.prev = e
	at.next = e
}

// Advance fires, in no particular order, every entry whose deadline is at
// or before now, unscheduling each before calling fire(e). fire may
// Schedule or Cancel any entry, including e and entries not yet fired; an
// entry it schedules at or before now fires on the next Advance, so a
// callback that keeps rescheduling itself cannot stall the loop. fire must
// not call Advance.
func (w *Wheel) Advance(now time.Time, fire func(*Entry)) {
	// Entries that were already due move to the firing list first, so that
	// ones made due by fire wait in the fresh due list.
	due, firing := &w.lists[w.dueList()], &w.lists[w.firingList()]
	if due.next != due {
		for e := due.next; e != due; e = e.next {
			e.slot = w.firingList()
		}
		firing.next, firing.prev = due.next, due.prev
		firing.next.prev, firing.prev.next = firing, firing
		due.next, due.prev = due, due
	}

	nt := w.ticksUntil(now, false)
	if nt > w.cur {
		from := w.cur + 1
		w.cur = nt
		n := nt - from + 1
		if n > w.mask+1 {
			n = w.mask + 1
		}
		for t := from; t < from+n; t++ {
			w.run(int32(t&w.mask), nt, fire)
		}
	}
	w.run(w.firingList(), nt, fire)
}

// run fires the entries of one list that are due by tick nt. A cursor entry
// keeps the position, so fire may unlink any entry, including the next one.
func (w *Wheel) run(slot int32, nt int64, fire func(*Entry)) {
	head, c := &w.lists[slot], &w.cursor
	insertAfter(head, c)
	for c.next != head {
		e := c.next
		unlink(c)
		insertAfter(e, c)
		if e.tick <= nt {
			w.remove(e)
			fire(e)
		}
	}
	unlink(c)
	w.emptied(slot)
}

// Next returns how long the loop may wait before the next Advance: the time
// until the end of the earliest non-empty tick. It is 0 only when some
// entry is already due at now, -1 when the wheel is empty. The result can
// be earlier than the next deadline (a slot holding only entries a
// revolution away), never later.
func (w *Wheel) Next(now time.Time) time.Duration {
	if w.count == 0 {
		return -1
	}
	if due := &w.lists[w.dueList()]; due.next != due {
		return 0
	}
	nt := w.ticksUntil(now, false)
	from := w.cur + 1
	if nt >= from {
		// Advance is behind now: look for entries already due.
		if w.anyDue(from, nt) {
			return 0
		}
		from = nt + 1
	}
	t := from + w.distance(from)
	return w.origin.Add(time.Duration(t) * w.tick).Sub(now)
}

// anyDue reports whether any entry in the slots of ticks from..nt is due.
func (w *Wheel) anyDue(from, nt int64) bool {
	for t := from; t <= nt && t <= from+w.mask; t++ {
		head := &w.lists[t&w.mask]
		for e := head.next; e != head; e = e.next {
			if e.tick <= nt {
				return true
			}
		}
	}
	return false
}

// distance returns how many ticks after from the first non-empty slot is,
// using the bitmap; at least one slot must be non-empty.
func (w *Wheel) distance(from int64) int64 {
	size := w.mask + 1
	start := from & w.mask
	for i := int64(0); i <= size; i += 64 {
		pos := (start + i) & w.mask
		word := w.nonEmpty[pos>>6] >> (pos & 63)
		if word != 0 {
			d := i + int64(bits.TrailingZeros64(word))
			if d < size {
				return d
			}
		}
		// Realign to the next word boundary.
		i -= pos & 63
	}
	return size - 1
}

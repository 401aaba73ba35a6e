// Package poller is the readiness reactor under every event loop: epoll on
// Linux and kqueue on the BSDs and Darwin, plus a coalesced wake-up so that
// other goroutines can interrupt a blocked Wait.
//
// The package knows descriptors and readiness, nothing about HTTP,
// WebSocket or connections: callers register a descriptor with the events
// they care about and get a callback fn(fd, ev) from Wait when it is ready.
//
// Interest is level-triggered on purpose. A descriptor stays reported while
// it is readable (or writable), so a loop may read only part of what is
// pending and come back on the next Wait; back-pressure is simply "drop
// Readable from the interest set" with Modify, and reports stop until
// Readable is added again. A half-close by the peer (it shut its write side)
// is reported as Hangup only while Readable is in the interest set, so a
// paused descriptor is not reported again and again; a full hangup (both
// directions, or a reset) and Error are reported whatever the interest.
//
// A Poller is owned by one goroutine (its event loop): Add, Modify, Delete,
// Wait and Close take no locks and must not be called concurrently. Wake is
// the only method that is safe from any goroutine; it is how work queued for
// the loop elsewhere gets noticed.
package poller

import "strings"

// Event is a set of readiness conditions of one descriptor.
type Event uint32

// Readiness conditions. Only Readable and Writable are meaningful in an
// interest set passed to Add or Modify; Error and a full Hangup are always
// reported, a half-close only with Readable interest (on kqueue: once).
const (
	// Readable means a read would not block (data, a pending accept, or EOF).
	Readable Event = 1 << iota
	// Writable means a write would not block, or a non-blocking connect
	// finished (successfully or not; see sock.ConnectError).
	Writable
	// Hangup means the peer closed its side: EPOLLRDHUP or EPOLLHUP on
	// Linux, EV_EOF on kqueue.
	Hangup
	// Error means the descriptor has a pending error: EPOLLERR on Linux,
	// EV_ERROR or EV_EOF with an error code on kqueue.
	Error
)

// maxEvents bounds how many descriptors one Wait reports; the rest stay
// ready (level-triggered) and are reported by the next Wait.
const maxEvents = 1024

// Ready is one event of a batch, as a Prefetch function sees it (Linux).
type Ready struct {
	FD int32
	Ev Event
}

// String returns the set as names joined by "|", for test and log messages.
func (e Event) String() string {
	if e == 0 {
		return "0"
	}
	names := [...]string{"Readable", "Writable", "Hangup", "Error"}
	var b strings.Builder
	for i, n := range names {
		if e&(1<<i) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString(n)
	}
	if rest := e &^ (Readable | Writable | Hangup | Error); rest != 0 {
		if b.Len() > 0 {
			b.WriteByte('|')
		}
		b.WriteString("0x")
		b.WriteString(hex(uint32(rest)))
	}
	return b.String()
}

func hex(v uint32) string {
	const digits = "0123456789abcdef"
	var buf [8]byte
	i := len(buf)
	for {
		i--
		buf[i] = digits[v&0xf]
		v >>= 4
		if v == 0 {
			return string(buf[i:])
		}
	}
}

// Package tlstrim drops the input buffers crypto/tls keeps after they are
// empty. Its reflect and unsafe are fenced in here, with the guard test
// that fails when a Go release moves the fields it needs.
//
// Dropping the input buffers crypto/tls keeps after they are empty.
//
// # Why
//
// A tls.Conn reads through three buffers that never shrink: rawInput
// (bytes.Buffer, ciphertext starting with a record header), input
// (bytes.Reader, the decrypted application data of the last record; its
// bytes live in rawInput's array) and hand (bytes.Buffer, handshake
// messages). On an idle wss connection all three are empty, yet they hold
// their arrays for the life of the connection: a heap profile of 1,000 idle
// connections (BENCHMARKS.md, TLS) found rawInput at 2.0 KB (grown to the
// ClientHello record) and hand at 1.5 KB (the ClientHello with its
// X25519MLKEM768 key share) of the 7.0 KB live per connection, and 12.6 KB
// of RSS per connection at GOGC=100 against a target of 8 KB. A connection
// that once received a full 16 KiB record keeps rawInput at about 17 KB.
// crypto/tls has no API to release them, and the proxy does not fork it.
//
// # What
//
// trimTLSInput sets each of them to its zero value when it is empty, so an
// idle connection holds none. The loop calls it after the handshake
// (handshakeDone); after a read that took all the input (tlsRead), for the
// first trimReads such reads of a connection in each second; and once a
// second from its housekeeper for every established TLS endpoint
// (Loop.trimTLS), which also starts the count of reads again. A connection
// that reads now and then is trimmed after each read; a busy one at most
// trimReads+1 times a second, and within a second of going quiet. A buffer
// that is not empty (half a record, half a post-handshake message) is left
// alone. The price of a trim is that the next read allocates rawInput
// again, from 576 B for a small record to 18 KB for a full one. Trimming
// after every read, as first built, made each small read about twice as
// slow and left 576 B of garbage per message (BenchmarkTLSTrim, a message
// encrypted and then read until errWouldBlock in memory: 0.7 → 1.1-1.9 µs
// per 64-byte message, 2.8 → 6-7 µs per 4 KiB, 10 → 20 µs per 16 KiB); the
// sweep alone, without the trims after reads, let the heap of a burst of
// new connections peak higher (7.6 KB of RSS per idle wss connection
// against 7.0-7.2, BENCHMARKS.md).
//
// # Why it is safe
//
// An empty bytes.Buffer and a zero one behave the same for every method
// crypto/tls calls (Len, Bytes, Next, Grow, ReadFrom, Write): both have no
// unread byte, and the zero one allocates when it grows. The only state the
// zero value loses is lastRead, which matters to UnreadByte and UnreadRune
// alone, and crypto/tls calls neither. An empty input is what
// readRecordOrCCS leaves itself, with input.Reset(nil), before it reads a
// record; we do the same a little earlier, so that the old rawInput array
// is not kept reachable through input. crypto/tls copies a handshake
// message before parsing it, so nothing else points into hand's array.
//
// The fields are written only by the loop that owns the connection, between
// its calls into the tls.Conn: after the handshake goroutine has returned
// (it Submits handshakeDone as its last act, which orders its writes before
// ours) and never while one may run. No other goroutine calls the tls.Conn.
//
// # The guard
//
// The fields are unexported, so they are found by name with reflect, once,
// at start-up, and each must have the expected type (bytes.Buffer,
// bytes.Reader) and be a direct field of tls.Conn. If a Go release renames,
// retypes or removes any of them, trimming turns itself off and nothing
// else changes: connections keep their buffers as before, and
// TestTLSTrimLayout fails so that the upgrade does not lose the memory
// quietly. WSPROXY_TLS_TRIM=0 in the environment turns trimming off too,
// to measure what it saves (BENCHMARKS.md, TLS); it is read once.
package tlstrim

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"reflect"
	"unsafe"
)

// layout says where the fields are in a tls.Conn.
var layout = func() (t fieldLayout) {
	t.rawInput, t.input, t.hand, t.err = findInputFields(reflect.TypeFor[tls.Conn]())
	return t
}()

type fieldLayout struct {
	err                   error   // why the fields were not found; nil if they were
	rawInput, input, hand uintptr // byte offsets in tls.Conn
}

// Err says why trimming is off: the fields were not found in this Go
// release's tls.Conn. Nil when Input works.
func Err() error { return layout.err }

// findInputFields returns the offsets in struct type ct (tls.Conn) of
// rawInput (bytes.Buffer), input (bytes.Reader) and hand (bytes.Buffer), or
// an error naming the first one missing or of another type.
func findInputFields(ct reflect.Type) (rawInput, input, hand uintptr, err error) {
	if ct.Kind() != reflect.Struct {
		return 0, 0, 0, fmt.Errorf("tlstrim: %v is not a struct", ct)
	}
	buffer, reader := reflect.TypeFor[bytes.Buffer](), reflect.TypeFor[bytes.Reader]()
	find := func(name string, want reflect.Type) uintptr {
		if err != nil {
			return 0
		}
		f, ok := ct.FieldByName(name)
		switch {
		case !ok:
			err = fmt.Errorf("tlstrim: %v has no field %s", ct, name)
		case len(f.Index) != 1:
			err = fmt.Errorf("tlstrim: %v.%s is promoted from an embedded field", ct, name)
		case f.Type != want:
			err = fmt.Errorf("tlstrim: %v.%s is a %v, not a %v", ct, name, f.Type, want)
		case f.Offset+want.Size() > ct.Size():
			err = fmt.Errorf("tlstrim: %v.%s lies outside the struct", ct, name)
		}
		return f.Offset
	}
	rawInput = find("rawInput", buffer)
	input = find("input", reader)
	hand = find("hand", buffer)
	return rawInput, input, hand, err
}

// Input drops c's input buffers that are empty (see the package doc). It
// must run on the goroutine that owns c, between calls into c, with no
// handshake goroutine running. It does nothing when Err is not nil.
func Input(c *tls.Conn) {
	if layout.err != nil {
		return
	}
	p := unsafe.Pointer(c)
	if in := (*bytes.Reader)(unsafe.Add(p, layout.input)); in.Len() == 0 && in.Size() != 0 {
		in.Reset(nil)
	}
	if b := (*bytes.Buffer)(unsafe.Add(p, layout.rawInput)); b.Len() == 0 && b.Cap() != 0 {
		*b = bytes.Buffer{}
	}
	if b := (*bytes.Buffer)(unsafe.Add(p, layout.hand)); b.Len() == 0 && b.Cap() != 0 {
		*b = bytes.Buffer{}
	}
}

// Caps returns the capacities c's three input buffers hold on to: 0, 0, 0
// when it holds none. For tests and measurements; ok is false when Err is
// not nil.
func Caps(c *tls.Conn) (rawInput, input, hand int, ok bool) {
	if layout.err != nil {
		return 0, 0, 0, false
	}
	p := unsafe.Pointer(c)
	return (*bytes.Buffer)(unsafe.Add(p, layout.rawInput)).Cap(),
		int((*bytes.Reader)(unsafe.Add(p, layout.input)).Size()),
		(*bytes.Buffer)(unsafe.Add(p, layout.hand)).Cap(), true
}

// Lens returns the unread bytes c's three input buffers hold. For tests;
// ok is false when Err is not nil.
func Lens(c *tls.Conn) (rawInput, input, hand int, ok bool) {
	if layout.err != nil {
		return 0, 0, 0, false
	}
	p := unsafe.Pointer(c)
	return (*bytes.Buffer)(unsafe.Add(p, layout.rawInput)).Len(),
		(*bytes.Reader)(unsafe.Add(p, layout.input)).Len(),
		(*bytes.Buffer)(unsafe.Add(p, layout.hand)).Len(), true
}

package sidshm

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"wsproxy/balance"
)

// File format.
const (
	magic      = 0x3164_6973_7870_7377 // "wspxsid1", little-endian
	version    = 2                     // 2: expires holds a check of key and server
	headerSize = 64                    // bytes; keeps the slots 64-bit aligned
	slotSize   = int(unsafe.Sizeof(slot{}))

	// MaxSize is the largest number of slots Create accepts: 6 GiB.
	MaxSize = 1 << 28
)

// probeLen is how many slots from its home slot a key may live in. It
// bounds the work of Learn and of a Lookup that misses.
const probeLen = 16

// staleClaim is how old, in seconds, a claim must be before another writer
// may take the slot over: a live writer publishes within microseconds.
const staleClaim = 60

// keyBit marks a key word that holds a sid's hash.
const keyBit = 1 << 63

// slot is one entry as laid out in the shared memory; see the package doc.
type slot struct {
	key     atomic.Uint64
	server  atomic.Uint64
	expires atomic.Uint64 // seal(key, server, Unix second)
}

// seal is the expires word of an entry: the second at which it expires in
// the high 32 bits (enough until 2106; later ones are clamped), and in the
// low 32 bits a check of the key and server it was written with, so that
// fields left by two writers (see the package doc) are told from an entry.
func seal(k, server, exp uint64) uint64 {
	return min(exp, 1<<32-1)<<32 | check(k, server)
}

func check(k, server uint64) uint64 {
	return (k ^ bits.RotateLeft64(server, 32)) * 0x9e3779b97f4a7c15 >> 32
}

// expiry returns the Unix second of an expires word.
func expiry(w uint64) uint64 { return w >> 32 }

// sealedBy reports whether the expires word w was written with key k and
// server.
func sealedBy(w, k, server uint64) bool { return w&(1<<32-1) == check(k, server) }

// live reports whether e, holding key word cur, is an intact entry that
// has not expired at sec.
func (e *slot) live(cur, sec uint64) bool {
	if cur&keyBit == 0 {
		return false
	}
	server, w := e.server.Load(), e.expires.Load()
	return sealedBy(w, cur, server) && expiry(w) > sec
}

// Table is one process's mapping of a shared sid table. Its methods and
// those of its Stores are safe for concurrent use by goroutines of this
// process and by the other processes mapping the same file.
type Table struct {
	mem   []byte // the whole mapping; nil after Close
	slots []slot // the slots within mem
	mask  uint64 // len(slots)-1
	seed  uint64
}

// Create makes a new shared table file with room for size entries,
// rounded up to a power of two (0 means balance.DefaultSidTableSize), and
// a fresh random seed. On Linux it is a memfd; elsewhere an unlinked
// temporary file. The descriptor is close-on-exec: hand it to workers as
// an extra file (os/exec's ExtraFiles).
func Create(size int) (*os.File, error) {
	if size <= 0 {
		size = balance.DefaultSidTableSize
	}
	if size > MaxSize {
		return nil, fmt.Errorf("%w: %d entries, over the maximum of %d", ErrSize, size, MaxSize)
	}
	n := max(probeLen, 1<<bits.Len(uint(size-1)))
	hdr := make([]byte, headerSize)
	if _, err := rand.Read(hdr[24:32]); err != nil {
		return nil, err
	}
	binary.LittleEndian.PutUint64(hdr[0:], magic)
	binary.LittleEndian.PutUint64(hdr[8:], version)
	binary.LittleEndian.PutUint64(hdr[16:], uint64(n))
	f, err := newFile()
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(int64(headerSize + n*slotSize)); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Open maps the table in f, a file made by Create, shared and writable.
// f may be closed afterwards; the mapping stays until Close.
func Open(f *os.File) (*Table, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < headerSize || size > headerSize+int64(MaxSize)*int64(slotSize) {
		return nil, fmt.Errorf("%w: %d bytes", ErrFormat, size)
	}
	hdr := make([]byte, headerSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint64(hdr[16:])
	switch {
	case binary.LittleEndian.Uint64(hdr[0:]) != magic:
		return nil, fmt.Errorf("%w: bad magic", ErrFormat)
	case binary.LittleEndian.Uint64(hdr[8:]) != version:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrFormat, binary.LittleEndian.Uint64(hdr[8:]), version)
	case n < probeLen || n&(n-1) != 0 || int64(headerSize)+int64(n)*int64(slotSize) != size:
		return nil, fmt.Errorf("%w: %d slots in %d bytes", ErrFormat, n, size)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return &Table{
		mem:   mem,
		slots: unsafe.Slice((*slot)(unsafe.Pointer(&mem[headerSize])), n),
		mask:  n - 1,
		seed:  binary.LittleEndian.Uint64(hdr[24:]),
	}, nil
}

// Close unmaps the table. No Store of it may be used afterwards, which is
// why a worker never closes the table it serves from; tests do.
func (t *Table) Close() error {
	if t.mem == nil {
		return nil
	}
	err := unix.Munmap(t.mem)
	t.mem, t.slots = nil, nil
	return os.NewSyscallError("munmap", err)
}

// Size returns the number of slots.
func (t *Table) Size() int { return len(t.slots) }

// Len counts the entries live at now, in every upstream. It reads the
// whole table; it is meant for tests and occasional metrics.
func (t *Table) Len(now time.Time) int {
	sec := unixSec(now)
	n := 0
	for i := range t.slots {
		e := &t.slots[i]
		if e.live(e.key.Load(), sec) {
			n++
		}
	}
	return n
}

// Store returns the balance.SidStore of upstream: its keys are hashed with
// the upstream's name mixed in, so that upstreams sharing the table never
// see each other's sids. Entries expire after ttl without use, to the
// second (0 means balance.DefaultSidTTL).
func (t *Table) Store(upstream string, ttl time.Duration) *Store {
	if ttl <= 0 {
		ttl = balance.DefaultSidTTL
	}
	return &Store{t: t, salt: hashBytes(t.seed, []byte(upstream)), ttl: uint64(max(1, (ttl+time.Second-1)/time.Second))}
}

// hashBytes is a seeded 64-bit hash of b that every process computes alike:
// a multiply-rotate step per 8 bytes, then splitmix64's finaliser.
func hashBytes(seed uint64, b []byte) uint64 {
	const m1, m2 = 0x9e3779b97f4a7c15, 0xbf58476d1ce4e5b9
	h := seed ^ uint64(len(b))*m1
	for ; len(b) >= 8; b = b[8:] {
		h = bits.RotateLeft64((h^binary.LittleEndian.Uint64(b))*m1, 29) * m2
	}
	if len(b) > 0 {
		var w uint64
		for i, c := range b {
			w |= uint64(c) << (8 * i)
		}
		h = bits.RotateLeft64((h^w)*m1, 29) * m2
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// unixSec is now in whole Unix seconds, never 0, so that a claim made at
// sec is never taken for an empty slot.
func unixSec(now time.Time) uint64 { return uint64(max(1, now.Unix())) }

// claim is the key word of a slot being written since sec.
func claim(sec uint64) uint64 { return sec &^ keyBit }

// stale reports whether the claim cur, seen at sec, was abandoned.
func stale(cur, sec uint64) bool { return cur+staleClaim < sec }

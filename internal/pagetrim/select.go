// Package pagetrim drops the pages of the running executable's read-only
// mappings from the process's resident set once start-up is over.
//
// A Go binary's text (r-x) and read-only data (r--: rodata, pclntab,
// type links) are file-backed and clean: every resident page is a page of
// the page cache mapped into the process. Start-up (package init, flag and
// YAML parsing, validation, the runtime's checks of its own tables) maps
// pages that the serving process never touches again, and the kernel's
// fault-around maps up to 16 pages beside each one touched. They count in
// the process's RSS, once per process: a master and a dozen workers count
// the same pages of the binary 13 times.
//
// Trim calls madvise(MADV_DONTNEED) on those mappings. For a private file
// mapping that holds no anonymous (copied-on-write) page that only removes
// the page table entries: the page cache keeps its one copy of the file,
// and a page touched again faults back in from it (a minor fault, no
// I/O). What stays resident afterwards is the working set of the serving
// process. What it does not change: the page cache holds the file as
// before, so the machine's memory use is the same and the PSS of the
// process group falls only by the pages no process touches.
//
// Trim never touches a mapping that is writable, that is not the
// executable's, or that holds an anonymous or dirty page (a page written
// through ptrace, say, or relocated and then made read-only): MADV_DONTNEED
// would throw such a page away and the file's content would come back in
// its place. Select is that decision, apart so that it can be tested on
// any system; Trim is a no-op outside Linux.
package pagetrim

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Mapping is one entry of /proc/PID/smaps: its header line and the fields
// Select looks at, in kB.
type Mapping struct {
	Start, End uint64 // addresses: [Start, End)
	Perms      string // "r-xp"
	Inode      uint64
	Path       string // "" for anonymous mappings

	Rss, Anonymous, PrivateDirty, SharedDirty, Swap uint64 // kB
	fields                                          int    // of the above seen, to reject a truncated entry
}

// ParseSmaps reads /proc/PID/smaps. Lines of an entry that it does not
// need are skipped; an entry missing one of the fields Select needs is
// kept, and Select leaves it alone. It allocates per mapping, not per
// line (a Go process's smaps has ~25 lines per mapping): it runs in a
// serving process, whose heap would keep the garbage resident.
func ParseSmaps(r io.Reader) ([]Mapping, error) {
	var out []Mapping
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		key, val, isField := fieldLine(line)
		if !isField {
			if m, ok := parseHeader(string(line)); ok {
				out = append(out, m)
			}
			continue
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("smaps: %q before any mapping", line)
		}
		cur := &out[len(out)-1]
		var dst *uint64
		switch string(key) {
		case "Rss":
			dst = &cur.Rss
		case "Anonymous":
			dst = &cur.Anonymous
		case "Private_Dirty":
			dst = &cur.PrivateDirty
		case "Shared_Dirty":
			dst = &cur.SharedDirty
		case "Swap":
			dst = &cur.Swap
		default:
			continue
		}
		n, err := parseKB(val)
		if err != nil {
			return nil, fmt.Errorf("smaps: %q: %v", line, err)
		}
		*dst = n
		cur.fields++
	}
	return out, sc.Err()
}

// fieldLine splits "Key:   value..." into its key and value; isField is
// false for any other line (a mapping's header starts with its address
// range, whose first word does not end in ':').
func fieldLine(line []byte) (key, val []byte, isField bool) {
	word := line
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		word = line[:i]
	}
	if len(word) < 2 || word[len(word)-1] != ':' {
		return nil, nil, false
	}
	return word[:len(word)-1], line[len(word):], true
}

// parseKB parses "   1234 kB".
func parseKB(val []byte) (uint64, error) {
	num, unit, ok := bytes.Cut(bytes.TrimSpace(val), []byte(" "))
	if !ok || string(bytes.TrimSpace(unit)) != "kB" || len(num) == 0 {
		return 0, fmt.Errorf("want a number of kB")
	}
	var n uint64
	for _, c := range num {
		if c < '0' || c > '9' || n > (1<<64-1-9)/10 {
			return 0, fmt.Errorf("bad number %q", num)
		}
		n = n*10 + uint64(c-'0')
	}
	return n, nil
}

// neededFields is how many of Rss, Anonymous, Private_Dirty, Shared_Dirty
// and Swap an entry must have for Select to consider it.
const neededFields = 5

// parseHeader parses "START-END PERMS OFFSET DEV INODE [PATH]", the line
// that opens an entry of smaps and the only kind of line of maps.
func parseHeader(line string) (Mapping, bool) {
	f := strings.Fields(line)
	if len(f) < 5 || strings.HasSuffix(f[0], ":") {
		return Mapping{}, false
	}
	lo, hi, ok := strings.Cut(f[0], "-")
	if !ok || len(f[1]) != 4 {
		return Mapping{}, false
	}
	start, err1 := strconv.ParseUint(lo, 16, 64)
	end, err2 := strconv.ParseUint(hi, 16, 64)
	inode, err3 := strconv.ParseUint(f[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || end <= start {
		return Mapping{}, false
	}
	m := Mapping{Start: start, End: end, Perms: f[1], Inode: inode}
	if len(f) > 5 {
		// The path is the rest of the line: it may hold spaces, and a
		// deleted file ends in " (deleted)".
		i := strings.Index(line, f[5])
		m.Path = line[i:]
	}
	return m, true
}

// Select returns the mappings Trim may drop: those of the file exe (the
// path /proc/self/exe links to), readable, not writable, private, with
// resident pages, every one of them clean and file-backed (no Anonymous,
// Private_Dirty, Shared_Dirty or Swap), and with all of those fields
// present.
func Select(maps []Mapping, exe string) []Mapping {
	var out []Mapping
	for _, m := range maps {
		if exe == "" || m.Path != exe || m.Inode == 0 {
			continue
		}
		if m.Perms != "r-xp" && m.Perms != "r--p" {
			continue // writable, shared, or not readable
		}
		if m.fields < neededFields || m.Rss == 0 {
			continue
		}
		if m.Anonymous != 0 || m.PrivateDirty != 0 || m.SharedDirty != 0 || m.Swap != 0 {
			continue
		}
		out = append(out, m)
	}
	return out
}

// Result says what Trim did.
type Result struct {
	Mappings int    // madvised
	Bytes    uint64 // their length
	Resident uint64 // their resident bytes just before
	Skipped  int    // read-only mappings of the executable left alone: a page of theirs was dirty or anonymous
}

// skipped counts the read-only private mappings of exe that Select left
// out although they have resident pages.
func skipped(maps, selected []Mapping, exe string) int {
	n := 0
	for _, m := range maps {
		if m.Path == exe && (m.Perms == "r-xp" || m.Perms == "r--p") && m.Rss != 0 {
			n++
		}
	}
	return n - len(selected)
}

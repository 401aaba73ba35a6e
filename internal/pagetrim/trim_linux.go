//go:build linux

package pagetrim

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Trim drops the resident pages of the executable's clean read-only
// mappings (Select) from this process's page tables. Call it once the
// process is serving: whatever it touches afterwards faults back in from
// the page cache.
func Trim() (Result, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return Result{}, err
	}
	// Streamed, not read whole: the file is ~1 KB per mapping, and a
	// serving process's heap would keep the buffer resident.
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return Result{}, err
	}
	maps, err := ParseSmaps(f)
	f.Close()
	if err != nil {
		return Result{}, err
	}
	sel := Select(maps, exe)
	r := Result{Skipped: skipped(maps, sel, exe)}
	for _, m := range sel {
		// A uintptr, not a []byte over the range: nothing here reads or
		// writes the pages, and no unsafe.Pointer is needed.
		_, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(m.Start), uintptr(m.End-m.Start), unix.MADV_DONTNEED)
		if errno != 0 {
			return r, fmt.Errorf("madvise %x-%x %s: %w", m.Start, m.End, m.Perms, errno)
		}
		r.Mappings++
		r.Bytes += m.End - m.Start
		r.Resident += m.Rss << 10
	}
	return r, nil
}

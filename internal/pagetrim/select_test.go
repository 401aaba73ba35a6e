package pagetrim

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
)

const exe = "/usr/local/bin/wsproxy"

// entry is one smaps entry: its header and the fields Select reads.
func entry(header string, rss, anon, privDirty, sharedDirty, swap int) string {
	return fmt.Sprintf("%s\nSize:               7004 kB\nRss:            %4d kB\nPss:               2988 kB\n"+
		"Shared_Clean:      5464 kB\nShared_Dirty:   %4d kB\nPrivate_Clean:      256 kB\nPrivate_Dirty:  %4d kB\n"+
		"Referenced:        5720 kB\nAnonymous:      %4d kB\nSwap:           %4d kB\nVmFlags: rd ex mr mw me\n",
		header, rss, sharedDirty, privDirty, anon, swap)
}

// TestSelect: only the executable's clean, read-only, private mappings
// with resident pages are picked; never a writable one, never one with an
// anonymous or dirty page, never another file's.
func TestSelect(t *testing.T) {
	cases := []struct {
		name string
		smap string
		want bool
	}{
		{"text", entry("00400000-00ad6000 r-xp 00000000 fe:00 1234 "+exe, 5720, 0, 0, 0, 0), true},
		{"rodata", entry("00ad6000-0122a000 r--p 006d6000 fe:00 1234 "+exe, 5584, 0, 0, 0, 0), true},
		{"data segment", entry("0122a000-01296000 rw-p 00e2a000 fe:00 1234 "+exe, 304, 96, 96, 0, 0), false},
		{"data segment, clean so far", entry("0122a000-01296000 rw-p 00e2a000 fe:00 1234 "+exe, 304, 0, 0, 0, 0), false},
		{"RELRO: relocated, then read-only", entry("0122a000-0122c000 r--p 00e2a000 fe:00 1234 "+exe, 8, 8, 8, 0, 0), false},
		{"text with a breakpoint written through ptrace", entry("00400000-00ad6000 r-xp 00000000 fe:00 1234 "+exe, 5720, 4, 4, 0, 0), false},
		{"anonymous page swapped out", entry("00400000-00ad6000 r-xp 00000000 fe:00 1234 "+exe, 5720, 0, 0, 0, 4), false},
		{"file written, not yet on disk", entry("00400000-00ad6000 r-xp 00000000 fe:00 1234 "+exe, 5720, 0, 256, 0, 0), false},
		{"file written, mapped by others too", entry("00400000-00ad6000 r-xp 00000000 fe:00 1234 "+exe, 5720, 0, 0, 5464, 0), false},
		{"writable and executable", entry("00400000-00ad6000 rwxp 00000000 fe:00 1234 "+exe, 5720, 0, 0, 0, 0), false},
		{"shared mapping", entry("00400000-00ad6000 r--s 00000000 fe:00 1234 "+exe, 5720, 0, 0, 0, 0), false},
		{"no access", entry("00400000-00ad6000 ---p 00000000 fe:00 1234 "+exe, 0, 0, 0, 0, 0), false},
		{"nothing resident", entry("00400000-00ad6000 r-xp 00000000 fe:00 1234 "+exe, 0, 0, 0, 0, 0), false},
		{"libc", entry("7f38f2800000-7f38f2956000 r-xp 00026000 fe:00 99 /usr/lib/x86_64-linux-gnu/libc.so.6", 920, 0, 0, 0, 0), false},
		{"a file named like the executable's directory", entry("7f0000000000-7f0000001000 r--p 00000000 fe:00 77 /usr/local/bin/wsproxy.yaml", 4, 0, 0, 0, 0), false},
		{"anonymous", entry("300dd7400000-300dd7c00000 rw-p 00000000 00:00 0", 1644, 1644, 1644, 0, 0), false},
		{"anonymous read-only", entry("7f38f266d000-7f38f276d000 r--p 00000000 00:00 0 ", 4, 4, 0, 0, 0), false},
		{"inode 0 with the path", entry("00400000-00ad6000 r-xp 00000000 00:00 0 "+exe, 5720, 0, 0, 0, 0), false},
		{"vdso", entry("7ffd1e9f0000-7ffd1e9f2000 r-xp 00000000 00:00 0                          [vdso]", 8, 0, 0, 0, 0), false},
		{"truncated entry", "00400000-00ad6000 r-xp 00000000 fe:00 1234 " + exe + "\nRss:                5720 kB\n", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			maps, err := ParseSmaps(strings.NewReader(c.smap))
			if err != nil {
				t.Fatal(err)
			}
			if len(maps) != 1 {
				t.Fatalf("%d mappings parsed, want 1", len(maps))
			}
			got := Select(maps, exe)
			if (len(got) == 1) != c.want {
				t.Fatalf("selected %v, want %v: %+v", len(got) == 1, c.want, maps[0])
			}
		})
	}
}

// TestSelectDeletedExecutable: a binary replaced on disk (an upgrade)
// shows as "PATH (deleted)" in smaps and in /proc/self/exe alike.
func TestSelectDeletedExecutable(t *testing.T) {
	del := exe + " (deleted)"
	smap := entry("00400000-00ad6000 r-xp 00000000 fe:00 1234 "+del, 5720, 0, 0, 0, 0) +
		entry("00ad6000-0122a000 r--p 006d6000 fe:00 1234 "+exe, 5584, 0, 0, 0, 0) // the new file
	maps, err := ParseSmaps(strings.NewReader(smap))
	if err != nil {
		t.Fatal(err)
	}
	got := Select(maps, del)
	if len(got) != 1 || got[0].Path != del || got[0].Start != 0x400000 || got[0].End != 0xad6000 {
		t.Fatalf("selected %+v, want the deleted file's text only", got)
	}
	if n := skipped(maps, got, del); n != 0 {
		t.Fatalf("skipped %d, want 0", n)
	}
	if got := Select(maps, ""); len(got) != 0 {
		t.Fatalf("no executable: selected %+v", got)
	}
}

// TestParseSmapsErrors: a field line before any mapping or a field in an
// unknown unit is an error, not a guess.
func TestParseSmapsErrors(t *testing.T) {
	for _, in := range []string{
		"Rss:                5720 kB\n",
		"00400000-00ad6000 r-xp 00000000 fe:00 1234 " + exe + "\nRss:                5720 MB\n",
		"00400000-00ad6000 r-xp 00000000 fe:00 1234 " + exe + "\nAnonymous:          x kB\n",
	} {
		if maps, err := ParseSmaps(strings.NewReader(in)); err == nil {
			t.Errorf("%q: parsed %+v, want an error", in, maps)
		}
	}
}

// TestParseSmapsAllocs: parsing allocates per mapping, not per line (the
// second trim runs in a serving process, whose heap keeps garbage
// resident): 100 mappings of 25 lines each in at most 4 allocations per
// mapping, and the fields are read.
func TestParseSmapsAllocs(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		fmt.Fprintf(&b, "%08x-%08x r-xp 00000000 fe:00 1234 %s\n", 0x400000+i*0x1000, 0x401000+i*0x1000, exe)
		for _, k := range []string{"Size", "KernelPageSize", "MMUPageSize", "Rss", "Pss", "Pss_Dirty", "Shared_Clean",
			"Shared_Dirty", "Private_Clean", "Private_Dirty", "Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
			"ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked"} {
			fmt.Fprintf(&b, "%-16s %8d kB\n", k+":", i)
		}
		b.WriteString("THPeligible:    0\nVmFlags: rd ex mr mw me sd \n")
	}
	in := b.String()
	var maps []Mapping
	allocs := testing.AllocsPerRun(5, func() {
		var err error
		if maps, err = ParseSmaps(strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
	})
	if len(maps) != 100 || maps[99].Rss != 99 || maps[99].fields != neededFields || maps[99].Path != exe {
		t.Fatalf("parsed %d mappings, last %+v", len(maps), maps[len(maps)-1])
	}
	t.Logf("%.0f allocations", allocs)
	if allocs > 400 {
		t.Errorf("%.0f allocations for 100 mappings; want at most 400", allocs)
	}
}

// TestSelectOwnSmaps runs Select on this test binary's own smaps: every
// mapping picked is the executable's, neither writable nor shared, and
// has no anonymous, dirty or swapped page.
func TestSelectOwnSmaps(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("smaps is Linux's")
	}
	self, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	maps, err := ParseSmaps(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range Select(maps, self) {
		if m.Path != self || strings.ContainsAny(m.Perms, "ws") || m.Anonymous+m.PrivateDirty+m.SharedDirty+m.Swap != 0 {
			t.Errorf("selected %+v", m)
		}
	}
}

// TestTrim trims this test binary and goes on running it: the code that
// runs next (this test's) faults back in from the page cache.
func TestTrim(t *testing.T) {
	r, err := Trim()
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "linux" && r != (Result{}) {
		t.Fatalf("Trim outside Linux: %+v, want nothing done", r)
	}
	t.Logf("%+v", r)
	if again, err := Trim(); err != nil {
		t.Fatalf("second Trim: %v (%+v)", err, again)
	}
}

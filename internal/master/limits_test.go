package master_test

import (
	"bytes"
	"log/slog"
	"strings"
	"syscall"
	"testing"

	"wsproxy/internal/master"
)

func TestCapacity(t *testing.T) {
	for _, tc := range []struct {
		name        string
		workers     int
		limit       uint64
		each, total int64
	}{
		{"one worker", 1, 20000, 9900, 9900},
		{"four workers", 4, 20000, 9900, 39600},
		{"odd remainder", 2, 1025, 412, 824},
		{"limit below the reserve", 2, 100, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			each, total := master.Capacity(tc.workers, tc.limit)
			if each != tc.each || total != tc.total {
				t.Errorf("Capacity(%d, %d) = %d, %d; want %d, %d", tc.workers, tc.limit, each, total, tc.each, tc.total)
			}
		})
	}
}

func TestLogCapacity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		want    int64
		line    string
	}{
		{"no maximum", 3, 0, `level=INFO msg="capacity: 3 workers × ~9,900 proxied connections each = ~29,700 (RLIMIT_NOFILE 20,000, 200 reserved`},
		{"enough", 1, 9900, `level=INFO msg="capacity: 1 worker × ~9,900 proxied connections each = ~9,900`},
		{"too few", 3, 50000, `level=WARN msg="capacity below the configured maximum: 3 workers × (20,000 descriptors − 200 reserved) / 2 = 29,700 proxied connections < 50,000 configured; raise the hard RLIMIT_NOFILE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			master.LogCapacity(slog.New(slog.NewTextHandler(&b, nil)), tc.workers, 20000, tc.want)
			if !strings.Contains(b.String(), tc.line) {
				t.Errorf("got %s; want it to contain %s", b.String(), tc.line)
			}
		})
	}
}

func TestRaiseFileLimit(t *testing.T) {
	got, err := master.RaiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	if got != uint64(rl.Cur) || rl.Cur != rl.Max {
		t.Errorf("RaiseFileLimit = %d; rlimit now %d soft, %d hard; want soft = hard = result", got, rl.Cur, rl.Max)
	}
}

package master

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"syscall"
)

// FileReserve is how many descriptors a process keeps for what is not a
// proxied connection: listeners, pollers and their wake-up descriptors,
// parked upstream connections, logs.
const FileReserve = 200

// RaiseFileLimit raises this process's soft RLIMIT_NOFILE to its hard limit
// and returns the soft limit now in force. On error the limit returned is
// the one in force before. It uses package syscall so that processes the
// caller starts later inherit the raised limit.
func RaiseFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, os.NewSyscallError("getrlimit", err)
	}
	if rl.Cur >= rl.Max {
		return uint64(rl.Cur), nil
	}
	raised := rl
	raised.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		return uint64(rl.Cur), os.NewSyscallError("setrlimit", err)
	}
	return uint64(raised.Cur), nil
}

// Capacity returns how many proxied connections one process with limit
// descriptors can hold, and workers such processes together. Every proxied
// connection takes two descriptors, its client and its upstream, and
// FileReserve are kept for the rest.
func Capacity(workers int, limit uint64) (each, total int64) {
	if limit <= FileReserve {
		return 0, 0
	}
	each = int64(limit-FileReserve) / 2
	return each, int64(workers) * each
}

// LogCapacity logs the capacity of workers processes with limit
// descriptors each, or warns with the arithmetic when it cannot hold want
// proxied connections. want is the configured maximum, 0 when the
// configuration sets none.
func LogCapacity(log *slog.Logger, workers int, limit uint64, want int64) {
	each, total := Capacity(workers, limit)
	if want > total {
		log.Warn(fmt.Sprintf("capacity below the configured maximum: %d worker%s × (%s descriptors − %d reserved) / 2 = %s proxied connections < %s configured; raise the hard RLIMIT_NOFILE (LimitNOFILE= under systemd) or run more workers",
			workers, plural(workers), group(int64(limit)), FileReserve, group(total), group(want)),
			"workers", workers, "nofile", limit, "capacity", total, "configured", want)
		return
	}
	log.Info(fmt.Sprintf("capacity: %d worker%s × ~%s proxied connections each = ~%s (RLIMIT_NOFILE %s, %d reserved, 2 descriptors per connection)",
		workers, plural(workers), group(each), group(total), group(int64(limit)), FileReserve),
		"workers", workers, "nofile", limit, "capacity", total)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// group formats n with thousands separators: 19800 → "19,800".
func group(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	out := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		out = append(out, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

package sock

import "golang.org/x/sys/unix"

// FileLimit returns the soft limit on open files (RLIMIT_NOFILE) of this
// process; ok is false when it cannot be read or is unlimited.
func FileLimit() (n int, ok bool) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == unix.RLIM_INFINITY || rl.Cur > 1<<40 {
		return 0, false
	}
	return int(rl.Cur), true
}

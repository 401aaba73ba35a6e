package bench

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU reads process pid's CPU clock: the time every thread of it
// has run, exited threads included, in nanoseconds. /proc/PID/stat gives
// the same total in clock ticks (10 ms), which over a ramp of a few
// hundred milliseconds is a few per cent of error per sample; the clock
// is exact. Linux lets any process read another's process CPU clock
// (clock_getcpuclockid(3): the clock id is MAKE_PROCESS_CPUCLOCK(pid,
// CPUCLOCK_SCHED)). ok is false when the process is gone.
func processCPU(pid int) (d time.Duration, ok bool) {
	const cpuClockSched = 2
	var ts unix.Timespec
	if err := unix.ClockGettime(int32((^pid)<<3|cpuClockSched), &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

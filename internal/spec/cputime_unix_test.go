//go:build unix

package spec

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user and system) the process has used,
// all goroutines together: on a busy machine it says more about the work a
// benchmark does than the wall time does.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

//go:build unix

package uhiclient

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time this process has used, so the
// benchmarks can report CPU per request, which other tenants of the machine
// do not distort the way they distort wall-clock throughput.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

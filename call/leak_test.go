package call

import (
	"runtime"
	"time"
)

// settleGoroutines waits up to 5 s for the goroutine count to drop to target
// (or to stop changing when target is 0) and returns it.
func settleGoroutines(target int) int {
	n := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		m := runtime.NumGoroutine()
		if (target > 0 && m <= target) || (target == 0 && m == n) {
			return m
		}
		n = m
	}
	return n
}

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

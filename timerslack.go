package main

import (
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// timerSlack is how late Linux may wake a sleeping thread of this program,
// so that its wake-ups coalesce with others (prctl(2), PR_SET_TIMERSLACK;
// the default is 50 µs).
//
// Go's system monitor sleeps 20 µs at a time while the program is busy, and
// a system call made after the program was idle starts that again
// (golang/go#18236: the tick is fixed, and no setting changes it). In a call
// the console goes from idle to busy hundreds of times a second (packets,
// pacing, frames), so the monitor woke about 2,500 times a second and cost
// a sixth of the console's CPU, besides the context switches. With a
// millisecond of slack it wakes about 750 times a second. Measured in
// interleaved calls with the simulated patient: 0.21 CPU-s/s with the
// default slack, 0.185 with 250 µs, 0.165 with 1 ms, 0.155 with 4 ms.
// Every timer of the program may fire up to this much late, which media
// paced at 5 to 33 ms and a terminal drawn 10 times a second do not notice;
// a packet arriving still wakes the program at once. 1 ms takes most of
// the gain and keeps the send times of audio within a millisecond.
const timerSlack = time.Millisecond

// timerSlackEnv, when set, leaves the timer slack as it is: the program sets
// it before it executes itself again, and a user may set it to opt out.
const timerSlackEnv = "TELECONSOLE_TIMERSLACK"

// applyTimerSlack gives every thread of the process timerSlack. A thread
// takes the slack of the thread that creates it, and Go starts its threads,
// the monitor among them, before main; execve(2) keeps the calling thread's
// slack for the new program. So this sets it on the calling thread and
// executes the program again, once: it returns only when the slack is in
// place, unwanted, or cannot be set, and then the program runs as it would
// have.
func applyTimerSlack() {
	if _, set := os.LookupEnv(timerSlackEnv); set {
		os.Unsetenv(timerSlackEnv) // not for the program's children
		return
	}
	cur := currentTimerSlack()
	if cur == 0 || cur >= timerSlack {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	runtime.LockOSThread() // the thread given the slack is the one that executes
	defer runtime.UnlockOSThread()
	if unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(timerSlack), 0, 0, 0) != nil {
		return
	}
	env := append(os.Environ(), timerSlackEnv+"=1")
	_ = syscall.Exec(exe, os.Args, env) // returns only on failure: run on as before
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(cur), 0, 0, 0)
}

// currentTimerSlack returns the calling thread's timer slack, 0 if unknown.
func currentTimerSlack() time.Duration {
	cur, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return 0
	}
	return time.Duration(cur)
}

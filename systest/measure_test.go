package systest

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// What a set of processes used, read from /proc: CPU time and proportional
// set size (PSS).

// usage is what a set of processes used during a call.
type usage struct {
	cpu     float64 // CPU seconds per call second
	peakMB  float64 // peak of the summed PSS
	samples int
}

// measure samples the processes pids() names every 250 ms for d: CPU time
// used (each process from its first sample to its last) per second of d,
// and the peak of their summed proportional set size.
func measure(pids func() []int, d time.Duration) usage {
	first, last := map[int]time.Duration{}, map[int]time.Duration{}
	var u usage
	start := time.Now()
	for {
		var pss int
		for _, pid := range pids() {
			cpu, ok := procCPU(pid)
			if !ok {
				continue
			}
			if _, seen := first[pid]; !seen {
				first[pid] = cpu
				if u.samples > 0 {
					first[pid] = 0 // started during the call: all of it counts
				}
			}
			last[pid] = cpu
			pss += procPSSKB(pid)
		}
		u.peakMB = max(u.peakMB, float64(pss)/1024)
		u.samples++
		if time.Since(start) >= d {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	var cpu time.Duration
	for pid, c := range last {
		cpu += c - first[pid]
	}
	u.cpu = cpu.Seconds() / time.Since(start).Seconds()
	return u
}

// procCPU is a process's user and system CPU time (/proc/PID/stat).
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	i := bytes.LastIndexByte(raw, ')')
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / clkTck, true
}

// procPSSKB is a process's proportional set size: its own pages, and its
// share of those it shares (Chromium's processes share a lot).
func procPSSKB(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(l, "Pss:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return n
		}
	}
	return 0
}

// descendants lists every process below root.
func descendants(root int) []int {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], pid)
		}
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

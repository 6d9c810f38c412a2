package app

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"teleconsole/call"
	"teleconsole/record"
	"teleconsole/simpatient"
	"teleconsole/waitingroom"
)

// BenchmarkCallRecording compares calls with the record on and off in one
// run (the ratio is what counts on a shared machine): each iteration is a
// call of 3 s connected, and it reports the median time from Call to
// Connected and the process's CPU per second of call, both peers in this
// process.
func BenchmarkCallRecording(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			var store *record.Store
			if on {
				var err error
				if store, err = record.Open(b.TempDir()); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = store.Close() })
			}
			r := newConfigRig(b, func(c *Config) { c.Record = store })
			const addr = "regular@sbx"
			_, events := r.addPatient(simpatient.Config{Address: addr, Rejoin: true})
			var setups []time.Duration
			var cpu, held time.Duration
			for b.Loop() {
				r.waitPatient(addr, waitingroom.StateWaiting, 10*time.Second)
				start := time.Now()
				if err := r.console.Call(addr); err != nil {
					b.Fatal(err)
				}
				r.waitState(call.StateConnected, 15*time.Second)
				setups = append(setups, time.Since(start))
				c0, t0 := cpuTime(), time.Now()
				time.Sleep(3 * time.Second)
				cpu, held = cpu+cpuTime()-c0, held+time.Since(t0)
				r.console.Hangup()
				r.waitState(call.StateEnded, 10*time.Second)
				drain(events)
			}
			slices.Sort(setups)
			b.ReportMetric(float64(setups[len(setups)/2].Microseconds())/1000, "setup-ms")
			b.ReportMetric(cpu.Seconds()/held.Seconds(), "cpu-s/call-s")
		})
	}
}

func drain(ch <-chan simpatient.Event) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

package call

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchEngines are a doctor and a patient engine at the console's real
// video size (640x480 at 30 fps), on loopback, synthetic media.
func benchEngines(b *testing.B) (*Engine, *Engine) {
	opts := []Option{WithVideo(640, 480, 30), WithDisconnectTimeout(4 * time.Second), WithReconnectTimeout(15 * time.Second)}
	return testEngine(b, opts...), testEngine(b, opts...)
}

// BenchmarkCallSetup measures call setup on loopback with candidates sent at
// once: from the OFFER leaving the doctor to the first frame of the
// patient's video decoded on the doctor's side (target: < 300 ms median).
// Ten calls per iteration; run with -benchtime=1x.
func BenchmarkCallSetup(b *testing.B) { benchSetup(b, 0) }

// BenchmarkCallSetupLateCandidates is BenchmarkCallSetup with the patient's
// candidates delivered 1 s after the patient sent them, as the patients' app
// posts them: the doctor connects on the peer-reflexive candidates it learns
// from the patient's checks (target: < 300 ms median).
func BenchmarkCallSetupLateCandidates(b *testing.B) { benchSetup(b, time.Second) }

func benchSetup(b *testing.B, late time.Duration) {
	doctor, patient := benchEngines(b)
	var setups []time.Duration
	for i := 0; i < b.N; i++ {
		for call := 0; call < 10; call++ {
			c := newCallPair(b, doctor, patient)
			var offerAt atomic.Int64
			c.toPatient.fail = func(s Signal) error {
				if s.Kind == SignalOffer {
					offerAt.CompareAndSwap(0, time.Now().UnixNano())
				}
				return nil
			}
			c.toDoctor.delay = func(s Signal) time.Duration {
				if s.Kind == SignalCandidate {
					return late
				}
				return 0
			}
			ds := c.dial()
			for ds.FramesDecoded() == 0 {
				time.Sleep(time.Millisecond)
			}
			setups = append(setups, time.Since(time.Unix(0, offerAt.Load())))
			ps := c.patientSession(5 * time.Second)
			ds.Hangup()
			waitDone(b, ds, 10*time.Second)
			waitDone(b, ps, 10*time.Second)
			c.wait()
		}
	}
	slices.Sort(setups)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(setups[len(setups)/2]), "setup-ms-p50")
	b.ReportMetric(ms(setups[0]), "setup-ms-min")
	b.ReportMetric(ms(setups[len(setups)-1]), "setup-ms-max")
	b.Logf("setups: %v", setups)
}

// BenchmarkCallResources holds one 640x480 at 30 fps call for 10 s with both
// peers in this process and reports CPU seconds per call second (both peers,
// and half of it as the per-side estimate: each side encodes one stream and
// decodes the other), frame rates, and peak memory: Go heap in use and the
// process's resident set (which includes libvpx's C allocations).
func BenchmarkCallResources(b *testing.B) {
	doctor, patient := benchEngines(b)
	for i := 0; i < b.N; i++ {
		c := newCallPair(b, doctor, patient)
		ds := c.dial()
		ps := c.patientSession(10 * time.Second)
		waitFrames(b, ds, 1, 10*time.Second)
		waitFrames(b, ps, 1, 10*time.Second)

		runtime.GC()
		baseRSS := procStatusKB("VmRSS")
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM
		var peakHeap atomic.Uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peakHeap.Load() {
					peakHeap.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()

		framesD, framesP := ds.FramesDecoded(), ps.FramesDecoded()
		cpu0, wall0 := cpuTime(), time.Now()
		time.Sleep(10 * time.Second)
		cpu, wall := cpuTime()-cpu0, time.Since(wall0)
		fpsD := float64(ds.FramesDecoded()-framesD) / wall.Seconds()
		fpsP := float64(ps.FramesDecoded()-framesP) / wall.Seconds()
		close(stop)
		wg.Wait()
		peakRSS := procStatusKB("VmHWM")

		ds.Hangup()
		waitDone(b, ds, 10*time.Second)
		waitDone(b, ps, 10*time.Second)
		c.wait()

		perCallSecond := cpu.Seconds() / wall.Seconds()
		b.ReportMetric(perCallSecond, "cpu-s/call-s-both")
		b.ReportMetric(perCallSecond/2, "cpu-s/call-s-per-side")
		b.ReportMetric(fpsD, "fps-at-doctor")
		b.ReportMetric(fpsP, "fps-at-patient")
		b.ReportMetric(float64(peakHeap.Load())/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(peakRSS)/1024, "peak-rss-MB")
		b.ReportMetric(float64(baseRSS)/1024, "rss-at-connect-MB")
	}
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procStatusKB reads a kB field of /proc/self/status (0 if unknown).
func procStatusKB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return v
		}
	}
	return 0
}

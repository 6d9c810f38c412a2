//go:build linux

package systest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"teleconsole/call"
)

// The adaptation tests put two in-process engines on either side
// of the shaped link (netlab_test.go), joined by in-memory signalling, and
// read their Stats samples.

// labSample is one second of a call as one side saw it.
type labSample struct {
	at time.Time
	call.Stats
}

// labCall is a call between a doctor engine in namespace A and a patient
// engine in namespace B.
type labCall struct {
	ds, ps     *call.Session
	mu         sync.Mutex
	doctor     []labSample
	patient    []labSample
	connected  time.Time
	psReady    chan struct{}
	dsReady    chan struct{}
	patientEng *call.Engine
}

func (l *netLab) engine(t *testing.T, ns, side string, opts ...call.Option) *call.Engine {
	t.Helper()
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", side, tail(logs.String(), 30))
		}
	})
	base := []call.Option{
		call.WithMedia(call.MediaSynthetic), call.WithICEServers(nil), call.WithPlayback(false),
		call.WithVideo(640, 480, 15), call.WithNet(l.pionNet(ns)),
		call.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("side", side)),
	}
	e, err := call.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// startEngineCall dials from namespace A to namespace B and waits until the
// doctor's side is connected.
func (l *netLab) startEngineCall(t *testing.T) *labCall {
	t.Helper()
	doctor := l.engine(t, l.a, "doctor")
	c := &labCall{patientEng: l.engine(t, l.b, "patient"), psReady: make(chan struct{}), dsReady: make(chan struct{})}
	var once sync.Once
	toPatient := call.SignallerFunc(func(_ context.Context, s call.Signal) error {
		go func() {
			if s.Kind == call.SignalOffer {
				first := false
				once.Do(func() {
					first = true
					ps, err := c.patientEng.Answer(testDoctor, *s.Description, call.SignallerFunc(func(_ context.Context, s call.Signal) error {
						go func() { <-c.dsReady; _ = c.ds.Handle(s) }()
						return nil
					}))
					if err != nil {
						t.Errorf("answer: %v", err)
						return
					}
					c.ps = ps
					close(c.psReady)
					go c.collect(ps, &c.patient)
				})
				if first {
					return
				}
			}
			<-c.psReady
			_ = c.ps.Handle(s)
		}()
		return nil
	})
	ds, err := doctor.Dial("patient@sbx", toPatient)
	if err != nil {
		t.Fatal(err)
	}
	c.ds = ds
	close(c.dsReady)
	connected := make(chan struct{})
	go c.collectDoctor(ds, connected)
	t.Cleanup(func() {
		ds.Hangup()
		<-ds.Done()
		select {
		case <-c.psReady:
			<-c.ps.Done()
		default:
		}
	})
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		t.Fatal("the call over the link never connected")
	}
	return c
}

func (c *labCall) collectDoctor(s *call.Session, connected chan struct{}) {
	for ev := range s.Events() {
		switch ev := ev.(type) {
		case call.StateEvent:
			if ev.State == call.StateConnected && c.connected.IsZero() {
				c.mu.Lock()
				c.connected = time.Now()
				c.mu.Unlock()
				close(connected)
			}
		case call.StatsEvent:
			c.mu.Lock()
			c.doctor = append(c.doctor, labSample{time.Now(), ev.Stats})
			c.mu.Unlock()
		}
	}
}

func (c *labCall) collect(s *call.Session, into *[]labSample) {
	for ev := range s.Events() {
		if st, ok := ev.(call.StatsEvent); ok {
			c.mu.Lock()
			*into = append(*into, labSample{time.Now(), st.Stats})
			c.mu.Unlock()
		}
	}
}

// waitDoctor waits until a doctor-side sample after since satisfies cond.
func (c *labCall) waitDoctor(t *testing.T, what string, since time.Time, d time.Duration, cond func(call.Stats) bool) labSample {
	t.Helper()
	deadline := time.Now().Add(d)
	seen := 0
	for time.Now().Before(deadline) {
		c.mu.Lock()
		samples := c.doctor[seen:]
		seen = len(c.doctor)
		c.mu.Unlock()
		for _, s := range samples {
			if s.at.After(since) && cond(s.Stats) {
				return s
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := len(c.doctor); n > 0 {
		t.Fatalf("the doctor's side never showed %s within %v; last sample %+v", what, d, c.doctor[n-1].Stats)
	}
	t.Fatalf("the doctor's side never showed %s within %v; no samples", what, d)
	return labSample{}
}

// audioGaps counts the patient's samples in [from, to) with no sound from
// the doctor, and the samples in all.
func (c *labCall) audioGaps(from, to time.Time) (silent, all int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.patient {
		if s.at.Before(from) || !s.at.Before(to) {
			continue
		}
		all++
		if s.AudioLevel == 0 {
			silent++
		}
	}
	return silent, all
}

// TestFaultAdaptSlowLossyLink: on a 300 kbit/s, 150 ms RTT, 2% loss link the
// call connects, audio stays continuous and the video adapts: the bit rate
// comes down first, then the picture's size and frame rate.
func TestFaultAdaptSlowLossyLink(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	l.shape(300_000, 150*time.Millisecond, 0.02)
	c := l.startEngineCall(t)
	start := c.connected
	lowered := c.waitDoctor(t, "a lower bit rate", start, 30*time.Second, func(s call.Stats) bool {
		return s.TargetBitrate > 0 && s.TargetBitrate < 500_000
	})
	smaller := c.waitDoctor(t, "a smaller picture", start, 40*time.Second, func(s call.Stats) bool {
		return s.WidthOut > 0 && s.WidthOut < 640 && s.Note != ""
	})
	t.Logf("FIGURE 300 kbit/s link: target bit rate down to %d kbit/s %v after connecting; picture %dx%d at %.0f fps %v after connecting (%q)",
		lowered.TargetBitrate/1000, lowered.at.Sub(start).Round(100*time.Millisecond),
		smaller.WidthOut, smaller.HeightOut, smaller.FPSOut, smaller.at.Sub(start).Round(100*time.Millisecond), smaller.Note)
	if smaller.at.Before(lowered.at) {
		t.Errorf("the picture shrank before the bit rate came down")
	}
	// Keep going a while on the slow link; audio must be there throughout.
	time.Sleep(8 * time.Second)
	end := time.Now()
	last := c.waitDoctor(t, "a sample", end.Add(-2*time.Second), 5*time.Second, func(call.Stats) bool { return true })
	if last.AudioOnly {
		t.Errorf("a 300 kbit/s link fell back to audio only: %q", last.Note)
	}
	if last.FPSOut > 11 || last.WidthOut >= 640 {
		t.Errorf("after adapting the doctor sends %dx%d at %.0f fps; want less than 640x480 at 15", last.WidthOut, last.HeightOut, last.FPSOut)
	}
	silent, all := c.audioGaps(start.Add(2*time.Second), end)
	t.Logf("FIGURE 300 kbit/s link: audio heard in %d of %d seconds; doctor sends %d kbit/s, %dx%d at %.0f fps",
		all-silent, all, last.BitrateOut/1000, last.WidthOut, last.HeightOut, last.FPSOut)
	if all < 7 || silent > all/10 {
		t.Errorf("audio missing in %d of %d seconds on the slow link", silent, all)
	}
}

// TestFaultAdaptAudioOnlyAndBack: the link falls to 64 kbit/s mid-call; the
// console falls back to audio only on its own, the sound keeps coming, and
// video comes back when the link recovers.
func TestFaultAdaptAudioOnlyAndBack(t *testing.T) {
	t.Parallel()
	l := newNetLab(t)
	c := l.startEngineCall(t)
	time.Sleep(3 * time.Second)
	l.shape(64_000, 100*time.Millisecond, 0)
	slowAt := time.Now()
	fallback := c.waitDoctor(t, "audio only", slowAt, 30*time.Second, func(s call.Stats) bool { return s.AudioOnly })
	t.Logf("FIGURE 64 kbit/s link: audio only %v after the link slowed (%q)", fallback.at.Sub(slowAt).Round(100*time.Millisecond), fallback.Note)
	if fallback.Note == "" {
		t.Error("audio only with no note saying why")
	}
	time.Sleep(8 * time.Second)
	silent, all := c.audioGaps(fallback.at.Add(2*time.Second), time.Now())
	t.Logf("FIGURE 64 kbit/s link, audio only: audio heard in %d of %d seconds", all-silent, all)
	if all < 5 || silent > all/5 {
		t.Errorf("audio missing in %d of %d seconds of audio only", silent, all)
	}

	l.shape(0, 40*time.Millisecond, 0)
	fastAt := time.Now()
	back := c.waitDoctor(t, "video back", fastAt, 45*time.Second, func(s call.Stats) bool { return !s.AudioOnly && s.FPSOut > 0 })
	t.Logf("FIGURE link recovered: video back %v later (%dx%d, %q)", back.at.Sub(fastAt).Round(100*time.Millisecond), back.WidthOut, back.HeightOut, back.Note)
}

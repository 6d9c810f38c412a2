package call

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestCallMediaBothWays is a whole call on loopback: connect, video and
// audio both ways, stats, mute and camera off, hang-up.
func TestCallMediaBothWays(t *testing.T) {
	doctor, patient := testEngine(t), testEngine(t)
	c := newCallPair(t, doctor, patient)
	ds := c.dial()
	if got := ds.State(); got != StateCalling {
		t.Fatalf("state after Dial = %v, want Calling", got)
	}
	ps := c.patientSession(10 * time.Second)

	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	c.patientRec.waitState(t, StateConnected, 15*time.Second)
	waitFrames(t, ds, 20, 15*time.Second)
	waitFrames(t, ps, 20, 15*time.Second)

	img, seq := ds.Frame()
	if img == nil || seq == 0 {
		t.Fatalf("doctor Frame() = %v, %d after frames decoded", img, seq)
	}
	if b := img.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Errorf("doctor sees %v, want 320x240", b)
	}

	// A stats sample with real figures on the doctor's side.
	var good Stats
	c.doctorRec.waitFor(t, "a full stats sample", 10*time.Second, func(_ []StateEvent, st []Stats) bool {
		for _, s := range st {
			if s.RTT > 0 && s.BitrateIn > 0 && s.BitrateOut > 0 && s.FPSIn > 0 && s.FPSOut > 0 &&
				s.VideoCodec == "VP8" && s.AudioCodec == "opus" && s.PathType == "host" &&
				s.WidthIn == 320 && s.TargetBitrate > 0 && s.AudioLevel > 0.3 && s.Duration > 0 {
				good = s
				return true
			}
		}
		return false
	})
	t.Logf("doctor stats: %+v", good)

	// Mute and camera off on the doctor's side: the patient keeps decoding,
	// hears silence and sees black.
	ds.SetMicMuted(true)
	ds.SetCameraOff(true)
	before := ps.FramesDecoded()
	c.patientRec.waitFor(t, "silence and a dark picture at the patient", 10*time.Second, func(_ []StateEvent, st []Stats) bool {
		if len(st) == 0 || st[len(st)-1].AudioLevel > 0.05 {
			return false
		}
		img, _ := ps.Frame()
		return img != nil && meanLuma(img.Pix) < 40
	})
	waitFrames(t, ps, before+10, 10*time.Second)
	ds.SetMicMuted(false)
	ds.SetCameraOff(false)
	c.patientRec.waitFor(t, "sound and picture back at the patient", 10*time.Second, func(_ []StateEvent, st []Stats) bool {
		img, _ := ps.Frame()
		return len(st) > 0 && st[len(st)-1].AudioLevel > 0.3 && img != nil && meanLuma(img.Pix) > 60
	})

	ds.Hangup()
	ds.Hangup() // idempotent
	end := c.doctorRec.waitState(t, StateEnded, 5*time.Second)
	if end.Reason != EndHangup {
		t.Errorf("doctor reason = %v, want %v", end.Reason, EndHangup)
	}
	pend := c.patientRec.waitState(t, StateEnded, 5*time.Second)
	if pend.Reason != EndRemoteBye {
		t.Errorf("patient reason = %v, want %v", pend.Reason, EndRemoteBye)
	}
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	<-c.doctorRec.closed
	if err := ds.Handle(Signal{Kind: SignalBye}); !errors.Is(err, ErrEnded) {
		t.Errorf("Handle after end = %v, want ErrEnded", err)
	}
	if got := c.toPatient.count(SignalBye); got != 1 {
		t.Errorf("doctor sent %d BYE, want 1", got)
	}
	if got := c.toDoctor.count(SignalBye); got != 0 {
		t.Errorf("patient answered BYE with %d BYE, want 0", got)
	}
	for name, e := range map[string]*Engine{"doctor": doctor, "patient": patient} {
		if n := e.liveSources.Load(); n != 0 {
			t.Errorf("%s: %d media sources still open", name, n)
		}
	}
	states := c.doctorRec.stateList()
	want := []State{StateCalling, StateConnecting, StateConnected, StateEnded}
	if !slices.Equal(states, want) {
		t.Errorf("doctor states %v, want %v", states, want)
	}
	c.wait()
}

// meanLuma is the mean of R+G+B/3 over an RGBA buffer, sampled.
func meanLuma(pix []byte) float64 {
	var sum, n float64
	for i := 0; i+3 < len(pix); i += 4 * 97 {
		sum += (float64(pix[i]) + float64(pix[i+1]) + float64(pix[i+2])) / 3
		n++
	}
	return sum / n
}

package call

import (
	"errors"
	"image"
	"image/color"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/wave"
)

// deviceEngine is a doctor's engine whose sound is to come from devices
// (MediaAuto), with no camera, and whose microphone opens through open.
func deviceEngine(t *testing.T, open func(id, name string, proc *audioProcessor) (sourceInput[wave.Audio], error), opts ...Option) *Engine {
	t.Helper()
	e := testEngine(t, append([]Option{WithMedia(MediaAuto)}, opts...)...)
	e.hasCamera = false
	e.openCam = func() (sourceInput[image.Image], error) { return nil, ErrNoCamera }
	e.openMic = open
	e.openSpk = func(string, *audioProcessor) (*speaker, error) { return nil, ErrNoPlayback }
	return e
}

// lastStats returns the last sample, the zero Stats before one.
func lastStats(st []Stats) Stats {
	if len(st) == 0 {
		return Stats{}
	}
	return st[len(st)-1]
}

// TestOfferDoesNotWaitForTheMicrophone: the microphone opens while the call
// rings. With its opening held up, the OFFER still goes out, the call
// connects and the patient hears silence; once it opens, the patient hears
// it.
func TestOfferDoesNotWaitForTheMicrophone(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	doctor := deviceEngine(t, func(id, _ string, _ *audioProcessor) (sourceInput[wave.Audio], error) {
		close(entered)
		<-release
		return newSyntheticTone(id, nil), nil
	})
	c, ds := connectWhileOpening(t, doctor, entered, "microphone")
	c.patientSession(10 * time.Second)
	c.patientRec.waitFor(t, "two samples at the patient", 10*time.Second, func(_ []StateEvent, st []Stats) bool { return len(st) >= 2 })
	c.patientRec.mu.Lock()
	silent := lastStats(c.patientRec.stats)
	c.patientRec.mu.Unlock()
	if silent.AudioLevel > 0.05 {
		t.Errorf("before the microphone opened the patient heard level %.2f, want silence", silent.AudioLevel)
	}
	close(release)
	c.patientRec.waitFor(t, "the microphone at the patient", 10*time.Second, func(_ []StateEvent, st []Stats) bool {
		return lastStats(st).AudioLevel > 0.3
	})
	if got := ds.MediaSource(); got != "synthetic video (no camera found), microphone" {
		t.Errorf("MediaSource = %q", got)
	}
	if !doctor.hasMic.Load() {
		t.Error("the engine does not know it has a microphone now")
	}
	hangUpClosingAll(t, c, ds, doctor)
}

// TestMicrophoneFailsWhileRinging: a microphone that was there and fails to
// open while the call rings is replaced by the synthetic tone (MediaAuto),
// the call goes on and its screen says so; at the next call it opens again
// and is used, with nothing said.
func TestMicrophoneFailsWhileRinging(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	doctor := deviceEngine(t, func(id, _ string, _ *audioProcessor) (sourceInput[wave.Audio], error) {
		if fail.Load() {
			return nil, ErrNoMicrophone
		}
		return newSyntheticTone(id, nil), nil
	})
	doctor.hasMic.Store(true) // there at the last look
	for call, want := range []string{"microphone failed: the patient hears a tone", ""} {
		c := newCallPair(t, doctor, testEngine(t))
		ds := c.dial()
		c.patientSession(10 * time.Second)
		c.patientRec.waitFor(t, "sound at the patient", 15*time.Second, func(_ []StateEvent, st []Stats) bool {
			return lastStats(st).AudioLevel > 0.3
		})
		c.doctorRec.waitFor(t, "two samples at the doctor", 10*time.Second, func(_ []StateEvent, st []Stats) bool { return len(st) >= 2 })
		c.doctorRec.mu.Lock()
		note := lastStats(c.doctorRec.stats).Note
		c.doctorRec.mu.Unlock()
		// With nothing to say of the microphone the note may be the
		// adaptation's (a busy machine's loopback looks lossy).
		if (want == "" && strings.Contains(note, "microphone")) || (want != "" && note != want) {
			t.Errorf("call %d: note %q, want %q", call+1, note, want)
		}
		if st := ds.State(); st != StateConnected {
			t.Errorf("call %d: state %v, want Connected", call+1, st)
		}
		if call == 0 {
			if got := ds.MediaSource(); got != "synthetic (no camera or microphone found)" {
				t.Errorf("MediaSource = %q after the microphone failed", got)
			}
			if ds.AudioProcessing() != "" {
				t.Errorf("AudioProcessing = %q with no microphone", ds.AudioProcessing())
			}
		}
		ds.Hangup()
		waitDone(t, ds, 10*time.Second)
		c.wait()
		fail.Store(false)
	}
	if n := doctor.liveSources.Load(); n != 0 {
		t.Errorf("%d sources still open", n)
	}
}

// TestMicrophoneFailsWithDevices: with MediaDevices (which a camera-less
// machine cannot call with, so the call's media alone) the failed
// microphone is replaced by silence, and said.
func TestMicrophoneFailsWithDevices(t *testing.T) {
	e := deviceEngine(t, func(string, string, *audioProcessor) (sourceInput[wave.Audio], error) {
		return nil, errors.Join(ErrNoMicrophone, errors.New("unplugged"))
	})
	e.media = MediaDevices
	m := &localMedia{e: e, mic: newLateMic("t", nil), soundDone: make(chan struct{})}
	m.openDevices("t", false, true, false)
	if got := m.deviceNote(time.Now()); got != "microphone failed: the patient hears silence" {
		t.Errorf("note %q", got)
	}
	for range 3 {
		chunk, _, err := m.mic.Read()
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range chunk.(*wave.Int16Interleaved).Data {
			if v != 0 {
				t.Fatalf("the replaced microphone sent %d, want silence", v)
			}
		}
	}
	_ = m.mic.Close()
}

// TestSpeakerLostIsReported: a speaker that stops asking for sound
// mid-call is said on the call screen, and the patient's level is still
// measured; the call goes on.
func TestSpeakerLostIsReported(t *testing.T) {
	sp := &speaker{opened: time.Now()}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() { // the device: 10 ms periods until it is unplugged
		defer close(stopped)
		out := make([]byte, 2*audioRate/100)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				sp.fill(out, nil, audioRate/100)
			}
		}
	}()
	doctor := deviceEngine(t, func(id, _ string, _ *audioProcessor) (sourceInput[wave.Audio], error) {
		return newSyntheticTone(id, nil), nil
	}, WithPlayback(true))
	doctor.openSpk = func(string, *audioProcessor) (*speaker, error) { return sp, nil }
	c := newCallPair(t, doctor, testEngine(t))
	ds := c.dial()
	c.doctorRec.waitFor(t, "the patient's sound", 15*time.Second, func(_ []StateEvent, st []Stats) bool {
		return lastStats(st).AudioLevel > 0.3
	})
	c.doctorRec.mu.Lock()
	playing := lastStats(c.doctorRec.stats).Note
	c.doctorRec.mu.Unlock()
	if strings.Contains(playing, "speaker") {
		t.Errorf("note %q while the speaker plays", playing)
	}
	close(stop)
	<-stopped
	c.doctorRec.waitFor(t, "the speaker said lost", 10*time.Second, func(_ []StateEvent, st []Stats) bool {
		return strings.Contains(lastStats(st).Note, "speaker lost")
	})
	c.doctorRec.waitFor(t, "the patient's level after", 10*time.Second, func(_ []StateEvent, st []Stats) bool {
		s := lastStats(st)
		return strings.Contains(s.Note, "speaker lost") && s.AudioLevel > 0.3
	})
	if st := ds.State(); st != StateConnected {
		t.Errorf("state %v after the speaker was lost, want Connected", st)
	}
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	c.wait()
}

// TestLateMicClosedWhileOpening: a call that ends while its microphone is
// still opening closes the device once it opens, and the source's Close
// waits for that.
func TestLateMicClosedWhileOpening(t *testing.T) {
	var closed atomic.Int32
	l := newLateMic("t", func() { closed.Add(1) })
	if _, _, err := l.Read(); err != nil { // silence, at once
		t.Fatal(err)
	}
	in := &countingInput{}
	go func() { _ = l.Close() }()
	// Close is waiting for the opening; the device arrives late.
	for {
		select {
		case <-l.closing:
		default:
			time.Sleep(time.Millisecond)
			continue
		}
		break
	}
	l.attach(in)
	_ = l.Close() // the second call returns once the first is done
	if in.closed.Load() != 1 || closed.Load() != 1 {
		t.Errorf("device closed %d times, source %d times, want 1 and 1", in.closed.Load(), closed.Load())
	}
	if _, _, err := l.Read(); err == nil {
		t.Error("Read after Close gave no error")
	}
}

type countingInput struct{ closed atomic.Int32 }

func (c *countingInput) Read() (wave.Audio, func(), error) { return nil, func() {}, io.EOF }
func (c *countingInput) Close() error                      { c.closed.Add(1); return nil }

// cameraEngine is deviceEngine with a camera, opened by open, and the
// synthetic tone for its microphone.
func cameraEngine(t *testing.T, open func() (sourceInput[image.Image], error)) *Engine {
	e := deviceEngine(t, func(id, _ string, _ *audioProcessor) (sourceInput[wave.Audio], error) {
		return newSyntheticTone(id, nil), nil
	})
	e.hasCamera = true
	e.openCam = open
	return e
}

// whiteCamera is a camera whose picture is white.
func whiteCamera(e *Engine) sourceInput[image.Image] {
	img := image.NewRGBA(image.Rect(0, 0, e.width, e.height))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	img.Set(0, 0, color.Black)
	return newStillVideo("white", img, e.width, e.height, e.fps, nil)
}

// TestOfferDoesNotWaitForTheCamera: the camera opens while the call rings.
// With its opening held up, the OFFER still goes out, the call connects
// and the patient sees black; once it opens, the patient sees it.
func TestOfferDoesNotWaitForTheCamera(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var doctor *Engine
	doctor = cameraEngine(t, func() (sourceInput[image.Image], error) {
		close(entered)
		<-release
		return whiteCamera(doctor), nil
	})
	c, ds := connectWhileOpening(t, doctor, entered, "camera")
	ps := c.patientSession(10 * time.Second)
	waitFrames(t, ps, 5, 15*time.Second)
	if img, _ := ps.Frame(); img == nil || meanLuma(img.Pix) > 40 {
		t.Errorf("before the camera opened the patient saw a picture of mean luma %.0f, want black", meanLuma(img.Pix))
	}
	close(release)
	c.patientRec.waitFor(t, "the camera's white picture at the patient", 10*time.Second, func([]StateEvent, []Stats) bool {
		img, _ := ps.Frame()
		return img != nil && meanLuma(img.Pix) > 200
	})
	if got := ds.MediaSource(); got != "devices" {
		t.Errorf("MediaSource = %q", got)
	}
	hangUpClosingAll(t, c, ds, doctor)
}

// TestCameraFailsWhileRinging: a camera that fails to open while the call
// rings is replaced by the synthetic picture (MediaAuto), the call goes on
// and its screen says so.
func TestCameraFailsWhileRinging(t *testing.T) {
	doctor := cameraEngine(t, func() (sourceInput[image.Image], error) {
		return nil, errors.Join(ErrNoCamera, errors.New("unplugged"))
	})
	c := newCallPair(t, doctor, testEngine(t))
	ds := c.dial()
	ps := c.patientSession(10 * time.Second)
	c.doctorRec.waitFor(t, "the note", 15*time.Second, func(_ []StateEvent, st []Stats) bool {
		return lastStats(st).Note == "camera failed: the patient sees a test picture"
	})
	waitFrames(t, ps, 5, 15*time.Second)
	if img, _ := ps.Frame(); img == nil || meanLuma(img.Pix) < 60 {
		t.Errorf("the patient sees no test picture in place of the camera")
	}
	if got := ds.MediaSource(); got != "synthetic video (no camera found), microphone" {
		t.Errorf("MediaSource = %q", got)
	}
	hangUpClosingAll(t, c, ds, doctor)
}

// TestLateSourceFirstReadAtOnce: the first read, which mediadevices makes
// inside pion's SetRemoteDescription to learn the format, is the
// placeholder at once even when the device is attached and has nothing
// yet; the reads after it are the device's.
func TestLateSourceFirstReadAtOnce(t *testing.T) {
	l := newLateMic("t", nil)
	in := &blockingInput{reads: make(chan struct{}, 4), release: make(chan struct{})}
	l.attach(in)
	chunk, _, err := l.Read()
	if err != nil || chunk == nil {
		t.Fatalf("first Read = %v, %v", chunk, err)
	}
	select {
	case <-in.reads:
		t.Fatal("the first Read waited for the device")
	default:
	}
	got := make(chan error, 1)
	go func() { _, _, err := l.Read(); got <- err }()
	<-in.reads // the second Read is the device's
	close(in.release)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
}

// blockingInput is a device whose reads wait for release.
type blockingInput struct {
	reads   chan struct{}
	release chan struct{}
}

func (b *blockingInput) Read() (wave.Audio, func(), error) {
	b.reads <- struct{}{}
	<-b.release
	return wave.NewInt16Interleaved(wave.ChunkInfo{Len: audioChunk, Channels: 1, SamplingRate: audioRate}), func() {}, nil
}
func (b *blockingInput) Close() error { return nil }

// hangUpClosingAll ends the doctor's call ds and checks that it left no
// source of the doctor's engine open.
func hangUpClosingAll(t *testing.T, c *callPair, ds *Session, doctor *Engine) {
	t.Helper()
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	c.wait()
	if n := doctor.liveSources.Load(); n != 0 {
		t.Errorf("%d sources still open", n)
	}
}

// connectWhileOpening calls from doctor, whose device opening has begun
// once entered is closed and is held there, and checks that the call
// connected on one OFFER while the device (what) was still opening.
func connectWhileOpening(t *testing.T, doctor *Engine, entered <-chan struct{}, what string) (*callPair, *Session) {
	t.Helper()
	c := newCallPair(t, doctor, testEngine(t))
	ds := c.dial()
	<-entered
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	if n := c.toPatient.count(SignalOffer); n != 1 {
		t.Fatalf("%d OFFERs sent while the %s was opening, want 1", n, what)
	}
	return c, ds
}

// TestNoSpeakerIsARemark: with no speaker the system would play on (no
// sound server), the screen says so calmly, as a remark, not a failure;
// a speaker the doctor named that fails is a failure.
func TestNoSpeakerIsARemark(t *testing.T) {
	for _, tc := range []struct{ name, speaker, note, remark string }{
		{"the system's speaker", "", "", NoSpeakerRemark},
		{"a speaker named", "USB Audio", "speaker failed: the patient on the meter only", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := deviceEngine(t, func(id, _ string, _ *audioProcessor) (sourceInput[wave.Audio], error) {
				return newSyntheticTone(id, nil), nil
			})
			e.speakerName = tc.speaker
			e.hasSpeaker.Store(true) // listed, as a machine without a sound server lists ALSA's default
			m := &localMedia{e: e, mic: newLateMic("t", nil), soundDone: make(chan struct{})}
			m.openDevices("t", false, false, true)
			if got := m.deviceNote(time.Now()); got != tc.note {
				t.Errorf("note %q, want %q", got, tc.note)
			}
			if got := m.deviceRemark(); got != tc.remark {
				t.Errorf("remark %q, want %q", got, tc.remark)
			}
		})
	}
}

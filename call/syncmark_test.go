package call

import (
	"image"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
	pionopus "github.com/pion/opus"
)

func TestTickGridIsExactAndRoundsUp(t *testing.T) {
	for _, fps := range []int{30, 15, 10, 7, chunksPerSecond, audioRate} {
		at := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
		n := tickAtOrAfter(at, fps)
		if got := tickInstant(n, fps); !got.Equal(at) {
			t.Errorf("%d/s: tick at a whole second is at %v, want %v", fps, got, at)
		}
		if !isMarkTick(n, fps) {
			t.Errorf("%d/s: a tick on an even second is not a mark", fps)
		}
		// Between two ticks: the later one.
		mid := at.Add(time.Nanosecond)
		m := tickAtOrAfter(mid, fps)
		if m != n+1 || tickInstant(m, fps).Before(mid) || !tickInstant(m-1, fps).Before(mid) {
			t.Errorf("%d/s: tickAtOrAfter(%v) = %d, want %d", fps, mid, m, n+1)
		}
	}
}

// markInstants lists the instants of the picture's flashes and the tone's
// bursts in [from, from+d), as the live sources decide them from their tick
// indices.
func markInstants(from time.Time, d time.Duration, fps int) (video, tone []time.Time) {
	for n := tickAtOrAfter(from, fps); tickInstant(n, fps).Before(from.Add(d)); n++ {
		if isMarkTick(n, fps) {
			video = append(video, tickInstant(n, fps))
		}
	}
	period := int64(syncPeriod/time.Second) * audioRate
	for k := tickAtOrAfter(from, chunksPerSecond); tickInstant(k, chunksPerSecond).Before(from.Add(d)); k++ {
		for i := range int64(audioChunk) {
			m := k*audioChunk + i
			if m%period == 0 {
				tone = append(tone, tickInstant(m, audioRate))
			}
		}
	}
	return video, tone
}

func TestPictureAndToneMarkTheSameInstants(t *testing.T) {
	from := time.Date(2026, 12, 1, 21, 0, 0, 300_000_000, time.UTC)
	for _, fps := range []int{30, 15, 10} {
		video, tone := markInstants(from, 9*time.Second, fps)
		if len(video) != 4 || !slices.EqualFunc(video, tone, time.Time.Equal) {
			t.Errorf("%d fps: flashes at %v, bursts at %v: want the same 4 instants", fps, video, tone)
		}
	}
}

func TestFlashFrameIsWhiteAndOthersAreThePicture(t *testing.T) {
	const w, h, fps = 320, 240, 30
	s := newSyntheticVideo("t", w, h, fps, clipStart, nil)
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	mark := tickAtOrAfter(clipStart().Add(10*time.Second), fps)
	var d flashDetector
	for i := int64(-3); i <= 3; i++ {
		s.frame(img, mark+i, tickInstant(mark+i, fps))
		luma := pictureLuma(img)
		if (luma == markLuma) != (i == 0) {
			t.Errorf("frame %+d from the mark: mean luma %.0f", i, luma)
		}
		if got := d.frame(img); got != (i == 0) {
			t.Errorf("frame %+d from the mark: detector says flash = %v", i, got)
		}
	}
}

func TestToneBurstIsLoudAndShort(t *testing.T) {
	period := int64(syncPeriod/time.Second) * audioRate
	base := 1000 * period // some mark
	rms := func(from, to int64) float64 {
		var sq float64
		for m := from; m < to; m++ {
			v := float64(toneSampleAt(m)) / math.MaxInt16
			sq += v * v
		}
		return math.Sqrt(sq / float64(to-from))
	}
	burst, before, after := rms(base, base+markSamples), rms(base-4800, base), rms(base+markSamples, base+markSamples+4800)
	if burst < 0.6 || before > 0.15 || after > 0.15 {
		t.Errorf("RMS burst %.2f, tone before %.2f, after %.2f", burst, before, after)
	}
}

// encodeDecode runs samples of the tone (counted from first) through
// libopus, as the engine sends them, and pion/opus, as it receives them.
func encodeDecode(t *testing.T, first int64, chunks int, bitrate int) []float32 {
	t.Helper()
	params, err := opus.NewParams()
	if err != nil {
		t.Fatal(err)
	}
	params.BitRate = bitrate
	k := 0
	src := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		c := wave.NewInt16Interleaved(wave.ChunkInfo{Len: audioChunk, Channels: 1, SamplingRate: audioRate})
		for i := range c.Data {
			c.Data[i] = toneSampleAt(first + int64(k*audioChunk+i))
		}
		k++
		return c, func() {}, nil
	})
	enc, err := params.BuildAudioEncoder(src, prop.Media{Audio: prop.Audio{SampleRate: audioRate, ChannelCount: 1}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := pionopus.NewDecoderWithOutput(audioRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	pcm := make([]float32, audioRate*120/1000)
	for k < chunks {
		pkt, _, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		n, err := dec.DecodeToFloat32(pkt, pcm)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pcm[:n]...)
	}
	return out
}

// TestClickIsFoundAfterOpus: the burst survives Opus at the engine's and a
// lean call's bit rates and is found within a few milliseconds of where it
// was put, once per mark, with nothing found between marks.
func TestClickIsFoundAfterOpus(t *testing.T) {
	period := int64(syncPeriod/time.Second) * audioRate
	first := 1000*period + period/4 // a quarter period after a mark
	for _, bitrate := range []int{32000, 12000} {
		pcm := encodeDecode(t, first, int(3*period/audioChunk)+100, bitrate)
		var d clickDetector
		var found []int64
		for off := 0; off < len(pcm); off += 960 { // as 20 ms packets arrive
			end := min(off+960, len(pcm))
			if i, ok := d.feed(pcm[off:end]); ok {
				found = append(found, first+int64(off+i))
			}
		}
		// Marks in the stretch decoded: 1001, 1002 and 1003 periods.
		if len(found) != 3 {
			t.Fatalf("%d bit/s: clicks found at samples %v, want 3", bitrate, found)
		}
		for i, m := range found {
			want := (1001 + int64(i)) * period
			// Opus delays its output by its look-ahead (6.5 ms here);
			// the onset is found at 1 ms resolution after it.
			if err := m - want; err < 0 || err > 10*audioRate/1000 {
				t.Errorf("%d bit/s: click %d found %+.1f ms from its mark", bitrate, i, float64(err)*1000/audioRate)
			}
		}
	}
}

func TestSyncMeterPairsMarksAndReportsAudioMinusVideo(t *testing.T) {
	var got []time.Duration
	m := newSyncMeter(func(offset time.Duration, _, _ time.Time) { got = append(got, offset) })
	t0 := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
	m.videoMark(t0)
	m.audioMark(t0.Add(30 * time.Millisecond)) // sound late
	m.audioMark(t0.Add(2 * time.Second))       // sound early
	m.videoMark(t0.Add(2*time.Second + 20*time.Millisecond))
	m.videoMark(t0.Add(4 * time.Second)) // its click was lost
	m.audioMark(t0.Add(6 * time.Second)) // too far from that flash
	m.videoMark(t0.Add(6*time.Second + 5*time.Millisecond))
	want := []time.Duration{30 * time.Millisecond, -20 * time.Millisecond, -5 * time.Millisecond}
	if !slices.Equal(got, want) || !slices.Equal(m.measured(), want) {
		t.Errorf("offsets %v (measured %v), want %v", got, m.measured(), want)
	}
}

// TestLipSyncMeasuredOnACall: two engines on loopback, each sending the
// synthetic media with its marks; a meter on the doctor's receive side
// finds and pairs them (the test attaches it to the tracks in case the
// session has not). How large the offsets are is not asserted (this
// machine is shared and noisy); that they are marks of one instant, less
// than half a period apart, is.
func TestLipSyncMeasuredOnACall(t *testing.T) {
	doctor, patient := testEngine(t), testEngine(t)
	c := newCallPair(t, doctor, patient)
	ds := c.dial()
	c.patientSession(10 * time.Second)
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	var v *remoteVideo
	var a *remoteAudio
	deadline := time.Now().Add(10 * time.Second)
	for (v == nil || a == nil) && time.Now().Before(deadline) {
		v, a = ds.video.Load(), ds.audio.Load()
		time.Sleep(10 * time.Millisecond)
	}
	if v == nil || a == nil {
		t.Fatal("the doctor's session has no remote video or audio")
	}
	m := newLipSyncMeter(testLogger()) // a session's own, as onTrack attaches it
	v.sync.Store(m)
	a.sync.Store(m)
	deadline = time.Now().Add(20 * time.Second)
	for len(m.measured()) < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := m.measured()
	if len(got) < 3 {
		t.Fatalf("%d marks measured in 20 s of call, want 3 or more", len(got))
	}
	t.Logf("audio minus video at the doctor: %v", got)
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	c.wait()
}

// TestPacerFirstTickAtOnce: a source's first read returns the tick just
// due, without waiting for the next one: mediadevices reads a frame of each
// source while a call is being set up, and a wait there held up every
// call. Later ticks keep to the grid.
func TestPacerFirstTickAtOnce(t *testing.T) {
	for _, perSecond := range []int{30, 100} {
		p := newPacer(perSecond)
		before := time.Now()
		n, ok := p.wait()
		if !ok {
			t.Fatal("pacer closed")
		}
		// The tick returned was already due when wait was called (but for
		// the microseconds wait itself took, a tick boundary almost never
		// falls in).
		if at := tickInstant(n, perSecond); at.After(before.Add(time.Millisecond)) {
			t.Errorf("%d/s: first tick %d is due at %v, after the read began at %v: the first read waited", perSecond, n, at, before)
		}
		m, _ := p.wait()
		if m != n+1 {
			t.Errorf("%d/s: ticks %d then %d, want consecutive", perSecond, n, m)
		}
		if now := time.Now(); now.Before(tickInstant(m, perSecond)) {
			t.Errorf("%d/s: tick %d returned at %v, before it was due", perSecond, m, now)
		}
		p.close()
	}
}

// TestTonePacerCatchesUpALittle: a reader of the tone up to 40 ms late
// gets every chunk it missed, at once; one later than that gets the chunk
// due now, the sound between lost (see toneBuffer).
func TestTonePacerCatchesUpALittle(t *testing.T) {
	clock := time.Unix(1796166760, 0)
	tone := newSyntheticTone("tone", nil)
	tone.pace.now = func() time.Time { return clock }
	defer tone.Close()
	first, ok := tone.pace.wait()
	if !ok {
		t.Fatal("pacer closed")
	}
	clock = clock.Add(30 * time.Millisecond)
	for i := int64(1); i <= 3; i++ {
		if n, _ := tone.pace.wait(); n != first+i {
			t.Fatalf("read %d after a 30 ms stall: chunk %d, want %d", i, n, first+i)
		}
	}
	clock = clock.Add(150 * time.Millisecond)
	if n, _ := tone.pace.wait(); n != tickAtOrAfter(clock, chunksPerSecond) {
		t.Errorf("after a 150 ms stall: chunk %d, want the one due now, %d", n, tickAtOrAfter(clock, chunksPerSecond))
	}
}

// TestVideoPacerDropsFramesWhenLate: the picture's reader, when late, gets
// the frame due now, as from a camera: old frames are worth nothing.
func TestVideoPacerDropsFramesWhenLate(t *testing.T) {
	clock := time.Unix(1796166760, 0)
	p := newPacer(30)
	p.now = func() time.Time { return clock }
	defer p.close()
	first, _ := p.wait()
	clock = clock.Add(500 * time.Millisecond)
	n, _ := p.wait()
	if want := tickAtOrAfter(clock, 30); n != want && n != want-1 {
		t.Errorf("after a 500 ms stall, frame %d (first %d), want the one due now, %d", n, first, want-1)
	}
}

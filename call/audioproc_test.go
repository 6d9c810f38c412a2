package call

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/pion/mediadevices/pkg/wave"
)

// speechLike is noise shaped into syllables: bursts of band-limited noise
// with pauses, the kind of far end an echo canceller meets in a call.
func speechLike(n int, seed uint64) []int16 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]int16, n)
	var lp1, lp2 float64
	for i := range out {
		x := r.NormFloat64()
		lp1 += 0.3 * (x - lp1) // a gentle low pass: most energy under 3 kHz
		lp2 += 0.3 * (lp1 - lp2)
		t := float64(i) / audioRate
		env := math.Max(0, math.Sin(2*math.Pi*2.5*t)) // 2.5 syllables a second
		out[i] = int16(max(-32767, min(32767, 12000*env*lp2*3)))
	}
	return out
}

// echoRun plays far through an echo path (delay d samples, gain g) into the
// processor, with near added to the microphone, and returns the power of
// what the processor let out over the last half, and of the echo itself.
func echoRun(t *testing.T, steps AudioProcessing, far, near []int16, d int, g float64) (out, echo float64) {
	t.Helper()
	ap, err := newAudioProcessor(steps)
	if err != nil {
		t.Fatal(err)
	}
	defer ap.close()
	var processed []int16
	buf := make([]int16, 0, 4*apmFrame)
	// Uneven device periods, as a sound server hands them out.
	periods := []int{480, 441, 519, 960, 240}
	for i, k := 0, 0; i+1000 < len(far); k++ {
		n := periods[k%len(periods)]
		ap.played(far[i : i+n])
		mic := make([]int16, n)
		for j := range mic {
			var e float64
			if i+j-d >= 0 {
				e = g * float64(far[i+j-d])
			}
			mic[j] = int16(max(-32767, min(32767, e+float64(near[i+j]))))
		}
		buf = ap.captured(mic, buf)
		processed = append(processed, buf...)
		i += n
	}
	half := len(processed) / 2
	for i := half; i < len(processed); i++ {
		out += float64(processed[i]) * float64(processed[i])
		if i-d >= 0 {
			e := g * float64(far[i-d])
			echo += e * e
		}
	}
	n := float64(len(processed) - half)
	return out / n, echo / n
}

func TestAudioProcessorCancelsEcho(t *testing.T) {
	for _, steps := range []AudioProcessing{{EchoCancellation: true}, {EchoCancellation: true, Speex: true}} {
		far := speechLike(audioRate*12, 1)
		silence := make([]int16, len(far))
		out, echo := echoRun(t, steps, far, silence, 60*audioRate/1000, 0.5)
		erle := 10 * math.Log10(echo/math.Max(out, 1))
		t.Logf("%s: ERLE %.1f dB (echo %.0f, residual %.0f)", steps, erle, math.Sqrt(echo), math.Sqrt(out))
		if erle < 25 {
			t.Errorf("%s: echo return loss enhancement %.1f dB, want at least 25", steps, erle)
		}
	}
}

func TestAudioProcessorOffPassesThrough(t *testing.T) {
	far := speechLike(audioRate*4, 2)
	silence := make([]int16, len(far))
	out, echo := echoRun(t, AudioProcessing{}, far, silence, 60*audioRate/1000, 0.5)
	if r := out / echo; r < 0.98 || r > 1.02 {
		t.Fatalf("with processing off the microphone came out at %.3f of its power, want 1", r)
	}
}

func TestAudioProcessorKeepsNearTalker(t *testing.T) {
	// No far end at all: the echo canceller must leave the doctor's voice.
	near := speechLike(audioRate*8, 3)
	silent := make([]int16, len(near))
	out, _ := echoRun(t, AudioProcessing{EchoCancellation: true, NoiseSuppression: true}, silent, near, 0, 0)
	var in float64
	for _, v := range near[len(near)/2:] {
		in += float64(v) * float64(v)
	}
	in /= float64(len(near) / 2)
	if db := 10 * math.Log10(out/in); db < -6 {
		t.Fatalf("near talker lost %.1f dB with no far end, want within 6 dB", -db)
	}
}

func TestAudioProcessingString(t *testing.T) {
	for _, c := range []struct {
		p    AudioProcessing
		want string
	}{
		{DefaultAudioProcessing(), "aec+ns+agc"},
		{AudioProcessing{NoiseSuppression: true}, "ns"},
		{AudioProcessing{EchoCancellation: true, GainControl: true}, "aec+agc"},
		{AudioProcessing{}, "off"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}

func TestAudioProcessorAfterClose(t *testing.T) {
	ap, err := newAudioProcessor(DefaultAudioProcessing())
	if err != nil {
		t.Fatal(err)
	}
	ap.close()
	ap.played(make([]int16, apmFrame))
	in := []int16{1, 2, 3}
	if got := ap.captured(in, nil); len(got) != 3 || got[2] != 3 {
		t.Fatalf("after close the microphone must pass unchanged, got %v", got)
	}
}

// BenchmarkAudioProcessor measures the processing's CPU per second of call
// audio (both directions: the speaker's far end and the microphone), as
// cpu-s/s: the process's CPU time (getrusage), not the wall clock, which on
// a shared machine counts other processes' time too. The budget is 0.02.
func BenchmarkAudioProcessor(b *testing.B) {
	for _, c := range []struct {
		name  string
		steps AudioProcessing
	}{
		{"aec", AudioProcessing{EchoCancellation: true}},
		{"all", DefaultAudioProcessing()},
		{"speex-all", AudioProcessing{EchoCancellation: true, NoiseSuppression: true, GainControl: true, Speex: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ap, err := newAudioProcessor(c.steps)
			if err != nil {
				b.Fatal(err)
			}
			defer ap.close()
			far := speechLike(audioRate, 4)
			mic := make([]int16, len(far))
			for i := range mic {
				mic[i] = far[i] / 3
			}
			out := make([]int16, 0, len(mic))
			b.ResetTimer()
			start := cpuTime()
			for range b.N {
				for i := 0; i < len(far); i += apmFrame {
					out = ap.captured(mic[i:i+apmFrame], out)
					ap.played(far[i : i+apmFrame])
				}
			}
			b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/s")
		})
	}
}

func TestParseAudioProcessing(t *testing.T) {
	for in, want := range map[string]AudioProcessing{
		"on":        DefaultAudioProcessing(),
		"off":       {},
		"aec":       {EchoCancellation: true},
		"ns,agc":    {NoiseSuppression: true, GainControl: true},
		"aec+ns":    {EchoCancellation: true, NoiseSuppression: true},
		"agc, aec":  {EchoCancellation: true, GainControl: true},
		"speex":     {EchoCancellation: true, NoiseSuppression: true, GainControl: true, Speex: true},
		"speex:aec": {EchoCancellation: true, Speex: true},
	} {
		got, err := ParseAudioProcessing(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got, err, want)
		}
	}
	if _, err := ParseAudioProcessing("aec,loud"); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("an unknown step: %v, want ErrInvalidOption", err)
	}
}

func TestEngineAudioProcessingSynthetic(t *testing.T) {
	e, err := New(WithMedia(MediaSynthetic), WithAudioProcessing(AudioProcessing{NoiseSuppression: true}))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.AudioProcessing(); got != "" {
		t.Fatalf("synthetic media has no microphone to process, yet the engine says %q", got)
	}
}

func TestMicrophoneDropsBacklog(t *testing.T) {
	// What the device captured before the call was read must not stay
	// queued ahead of the live sound.
	m := &microphone{chunks: make(chan []int16, 16), done: make(chan struct{})}
	for i := range 16 {
		m.chunks <- []int16{int16(i)}
	}
	a, _, err := m.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := a.(*wave.Int16Interleaved).Data[0]; got != 16-1-maxMicBacklog {
		t.Fatalf("read chunk %d of 16 queued, want %d (the latest but %d)", got, 16-1-maxMicBacklog, maxMicBacklog)
	}
	if len(m.chunks) != maxMicBacklog {
		t.Fatalf("%d chunks still queued, want %d", len(m.chunks), maxMicBacklog)
	}
}

func TestMicrophoneLostGivesSilence(t *testing.T) {
	m := &microphone{chunks: make(chan []int16, 16), done: make(chan struct{})}
	a, _, err := m.Read() // nothing comes: the device is gone
	if err != nil {
		t.Fatal(err)
	}
	pcm := a.(*wave.Int16Interleaved)
	if !m.lost.Load() || pcm.Size.Len != audioRate/100 {
		t.Fatalf("a silent device: lost %v, chunk of %d samples; want lost and 10 ms of silence", m.lost.Load(), pcm.Size.Len)
	}
	for _, v := range pcm.Data {
		if v != 0 {
			t.Fatal("the stand-in for a lost microphone is not silence")
		}
	}
	m.chunks <- []int16{7}
	if a, _, _ = m.Read(); a.(*wave.Int16Interleaved).Data[0] != 7 || m.lost.Load() {
		t.Fatalf("the device came back, yet Read gave %v with lost %v", a.(*wave.Int16Interleaved).Data, m.lost.Load())
	}
}

func TestAudioProcessorDoubleTalk(t *testing.T) {
	// Both talk at once, the doctor as loud as the echo: the echo gate must
	// stay open for the doctor's voice.
	far := speechLike(audioRate*12, 5)
	near := speechLike(audioRate*12, 6)
	for i := range near {
		near[i] /= 2 // the echo path's gain below
	}
	out, _ := echoRun(t, AudioProcessing{EchoCancellation: true}, far, near, 60*audioRate/1000, 0.5)
	var in float64
	for _, v := range near[len(near)/2:] {
		in += float64(v) * float64(v)
	}
	in /= float64(len(near) / 2)
	db := 10 * math.Log10(out/in)
	t.Logf("double talk: the doctor's voice comes out at %.1f dB", db)
	if db < -20 {
		t.Fatalf("in double talk the doctor's voice lost %.1f dB, want within 20 dB (the canceller alone takes 15)", -db)
	}
}

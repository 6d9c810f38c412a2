package systest

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The echo test. A loopback on the sound server from the speaker's monitor
// into the microphone stands in for a room: everything the doctor's side
// plays comes back into its microphone about 60 ms later at the level it
// was played. The Chromium patient talks (speech-like sound from its fake
// microphone) and measures the power of what it hears back, which is only
// that echo. Echo return loss enhancement (ERLE) is how much less comes back
// with the doctor's audio processing on than with it off: for the console,
// and, in the same run on the same server, for a Chromium doctor (the
// anchor: a browser's WebRTC audio processing). The console runs once more
// with speexdsp in place of WebRTC's module, the candidate it was measured
// against.

// echoWarmup is how long a call runs before the echo is measured (the
// canceller converges in its first seconds), echoWindow how long it is
// measured for.
const (
	echoWarmup = 8 * time.Second
	echoWindow = 8 * time.Second
)

// speech is d of speech-like sound: voiced syllables, a pitch gliding
// between 100 and 200 Hz with 20 harmonics falling 6 dB an octave, about
// two syllables a second with pauses between them.
func speech(d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*pulseRate))
	var phase float64
	for i := range out {
		t := float64(i) / pulseRate
		phase += 2 * math.Pi * (150 + 50*math.Sin(2*math.Pi*0.7*t)) / pulseRate
		var v float64
		for k := 1; k <= 20; k++ {
			v += math.Sin(float64(k)*phase) / float64(k)
		}
		env := math.Max(0, math.Sin(2*math.Pi*1.9*t)+0.2*math.Sin(2*math.Pi*0.3*t))
		out[i] = int16(max(-32767, min(32767, 0.2*32767*env*v)))
	}
	return out
}

// heardPower waits echoWarmup past the first sound the patient heard, then
// returns the mean power of what it hears over echoWindow, dB full scale.
func heardPower(t testing.TB, pt *browserPeer) float64 {
	t.Helper()
	first := pt.waitEvent("the first sound heard", 30*time.Second, func(e peerEvent) bool {
		return e.Event == "stats" && e.AudioCount > 0
	})
	start := pt.waitEvent("the end of the warm-up", echoWarmup+10*time.Second, func(e peerEvent) bool {
		return e.Event == "stats" && e.At >= first.At+float64(echoWarmup.Milliseconds())
	})
	end := pt.waitEvent("the end of the window", echoWindow+10*time.Second, func(e peerEvent) bool {
		return e.Event == "stats" && e.At >= start.At+float64(echoWindow.Milliseconds())
	})
	n := end.AudioCount - start.AudioCount
	if n < 0.5*echoWindow.Seconds()*pulseRate {
		t.Fatalf("the patient heard %.0f samples in %v: the sound stopped", n, echoWindow)
	}
	return 10 * math.Log10(math.Max((end.AudioSumSq-start.AudioSumSq)/n, 1e-12))
}

// echoRun is one call's figures: the power the patient heard back, and the
// level the patient's voice was played at on the doctor's speaker.
type echoRun struct {
	heardDB   float64 // dBFS
	speakerDB float64 // dBFS, the speaker's monitor over 1 s
}

func dBFS(pcm []int16) float64 {
	return 20 * math.Log10(math.Max(rms(pcm), 0.1)/32767)
}

// echoConsole measures a call from the console with --audio-processing proc.
func echoConsole(t *testing.T, pa *pulseServer, voice, proc string) echoRun {
	pane, uri, logPath := startSoundConsole(t, pa, "--audio-processing", proc)
	want := map[string]string{"on": "aec+ns+agc", "speex": "speex:aec+ns+agc"}[proc]
	if want == "" {
		want = proc
	}
	if screen := pane.capture(); !strings.Contains(screen, "audio "+want) {
		t.Errorf("the status bar does not say %q:\n%s", "audio "+want, screen)
	}
	pt := startSoundPatient(t, uri, voice)
	callPatient(t, pane, pt, logPath)
	var r echoRun
	r.heardDB = heardPower(t, pt)
	r.speakerDB = dBFS(pa.record("speaker.monitor", time.Second))
	pane.keys("q")
	pane.waitFor("Hang up and quit?", 5*time.Second, logPath)
	pane.keys("y")
	pane.waitFor("exit status 0", 10*time.Second, logPath)
	pt.stop()
	return r
}

// echoChromium measures a call from a Chromium doctor on the sound server,
// its audio processing on or off.
func echoChromium(t *testing.T, pa *pulseServer, voice, proc string) echoRun {
	doc := startBrowserPeerEnv(t, pa.environ(), "doctor.mjs",
		"--hpr", testDoctor,
		"--auto-call", "0",
		"--candidate-delay", "0",
		"--stats-interval", "500",
		"--real-mic", proc,
	)
	uri := doc.waitEvent("listening", time.Second, func(e peerEvent) bool { return e.Event == "listening" }).URI
	pt := startSoundPatient(t, uri, voice)
	pt.waitEvent("the call connected", 30*time.Second, func(e peerEvent) bool { return e.Event == "state" && e.State == "connected" })
	var r echoRun
	r.heardDB = heardPower(t, pt)
	r.speakerDB = dBFS(pa.record("speaker.monitor", time.Second))
	doc.command("hangup")
	pt.stop()
	doc.stop()
	return r
}

// TestInteropSoundEcho: the console's echo return loss enhancement is at
// least 25 dB, and no less than the Chromium doctor's in the same run.
func TestInteropSoundEcho(t *testing.T) {
	pa := startPulse(t)
	pa.pactl("load-module", "module-loopback", "source=speaker.monitor", "sink=mic", "latency_msec=60",
		"source_dont_move=true", "sink_dont_move=true")
	voice := filepath.Join(t.TempDir(), "speech.wav")
	writeWAV(t, voice, speech(6*time.Second))

	runs := map[string]echoRun{}
	for _, c := range []struct {
		name string
		run  func(*testing.T, *pulseServer, string, string) echoRun
		proc string
	}{
		{"console-off", echoConsole, "off"},
		{"console-on", echoConsole, "on"},
		{"console-speex", echoConsole, "speex"},
		{"chromium-off", echoChromium, "off"},
		{"chromium-on", echoChromium, "on"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.run(t, pa, voice, c.proc)
			t.Logf("%s: the patient hears %.1f dBFS back; its voice on the speaker at %.1f dBFS", c.name, r.heardDB, r.speakerDB)
			if r.speakerDB < -40 {
				t.Errorf("the patient's voice is not on the speaker (%.1f dBFS): no echo to cancel", r.speakerDB)
			}
			runs[c.name] = r
		})
	}
	if t.Failed() {
		return
	}
	console := runs["console-off"].heardDB - runs["console-on"].heardDB
	chromium := runs["chromium-off"].heardDB - runs["chromium-on"].heardDB
	speex := runs["console-off"].heardDB - runs["console-speex"].heardDB
	t.Logf("ERLE: console %.1f dB (WebRTC's module; with speexdsp %.1f dB), Chromium %.1f dB", console, speex, chromium)
	if console < 25 {
		t.Errorf("the console's echo return loss enhancement is %.1f dB, want at least 25", console)
	}
	// The Chromium anchor is a figure, not a check: its own cancellation
	// swung from 1.7 to 69.7 dB between runs of this same test, on the
	// same sound server, so the comparison tells of the run, not of the
	// console. docs/guide.md keeps the runs.
	if console < chromium {
		t.Logf("the console's ERLE (%.1f dB) is below the Chromium doctor's (%.1f dB) in this run", console, chromium)
	}
}

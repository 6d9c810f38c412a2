package systest

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The sound tests: the real console in a terminal, with its microphone and
// speaker on the test's own PulseAudio server (pulse_test.go), calling a
// Chromium patient that has no sound server of its own (its camera and
// microphone are Chromium's fake devices; what it hears is measured in the
// page).

// startSoundConsole is startConsole with the sound server's devices: media
// auto (so the microphone is found), no picture device, extra flags added.
func startSoundConsole(t testing.TB, pa *pulseServer, extra ...string) (pane *tmuxPane, uri, logPath string) {
	t.Helper()
	addr := freePort(t)
	logPath = filepath.Join(t.TempDir(), "console.log")
	args := append([]string{binary(t),
		"--listen", addr,
		"--hpr", testDoctor,
		"--name", "Ganesh Vikram Borse",
		"--ice-servers", "",
		"--media", "auto",
		"--verify", "off",
		"--log", logPath,
	}, extra...)
	pane = startTmux(t, 80, 24, append([]string{"TERM=xterm-256color"}, pa.env...), args...)
	pane.waitFor("Waiting room", 10*time.Second, logPath)
	return pane, "http://" + addr + "/api/v1", logPath
}

// startSoundPatient starts a Chromium patient of the console at uri whose
// microphone plays micFile, with stats every 250 ms.
func startSoundPatient(t testing.TB, uri, micFile string) *browserPeer {
	t.Helper()
	return startBrowserPeer(t, "patient.mjs",
		"--console", uri,
		"--hpr", testDoctor,
		"--ready-interval", "500",
		"--candidate-delay", "0",
		"--photo-kb", "1",
		"--stats-interval", "250",
		"--mic-file", micFile,
	)
}

// callPatient waits for the patient in the waiting room and calls them.
func callPatient(t testing.TB, pane *tmuxPane, pt *browserPeer, logPath string) {
	t.Helper()
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	pt.waitEvent("the doctor's ACK", 10*time.Second, isSignal("received", "ACK"))
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
}

// TestInteropSoundDevices: with a sound server running, the console finds
// its microphone and speaker by itself. A 1 kHz tone played into the
// microphone reaches the Chromium patient (its page finds the frequency),
// and the patient's 600 Hz voice is played on the speaker (its monitor
// recorded and measured). The microphone is chosen by name (--microphone),
// the default source being the speaker's silent monitor. m mutes what the
// patient hears within 200 ms. Unloading the microphone's module mid-call
// leaves the call up and the screen says so.
func TestInteropSoundDevices(t *testing.T) {
	pa := startPulse(t)
	pa.pactl("set-default-source", "speaker.monitor")
	pa.play("mic", tone(1000, 0.3, time.Second))
	voice := filepath.Join(t.TempDir(), "voice.wav")
	// Syllables of a tone: Chromium's noise suppression on the patient's
	// microphone takes a steady tone for noise.
	writeWAV(t, voice, syllables(tone(600, 0.5, 2*time.Second)))

	pane, uri, logPath := startSoundConsole(t, pa, "--microphone", "Microphone")
	if logText, _ := os.ReadFile(logPath); !strings.Contains(grepLines(string(logText), "engine ready"), "microphone\" speaker=true") {
		t.Errorf("the console did not find the microphone and the speaker:\n%s", grepLines(string(logText), "engine ready"))
	}
	if screen := pane.capture(); !strings.Contains(screen, "audio aec+ns+agc") {
		t.Errorf("the status bar does not say the microphone's processing is on:\n%s", screen)
	}
	pt := startSoundPatient(t, uri, voice)
	callPatient(t, pane, pt, logPath)

	got := pt.waitEvent("the console's 1 kHz tone heard by Chromium", 20*time.Second, func(e peerEvent) bool {
		return e.Event == "stats" && e.AudioEnergy > 0.05 && math.Abs(e.AudioPeakHz-1000) < 20
	})
	t.Logf("Chromium hears the console's microphone: peak %.0f Hz, level %.3f, energy %.3f", got.AudioPeakHz, got.AudioLevel, got.AudioEnergy)

	// The patient's voice on the doctor's speaker.
	heard := pa.record("speaker.monitor", 2*time.Second)
	r, share := rms(heard), toneShare(heard, 600)
	t.Logf("speaker monitor: RMS %.0f of 32767, %.2f of its power at 600 Hz", r, share)
	if r < 500 || share < 0.5 {
		logText, _ := os.ReadFile(logPath)
		t.Errorf("the patient's 600 Hz voice is not on the speaker: RMS %.0f, share at 600 Hz %.2f; log:\n%s", r, share, grepLines(string(logText), "engine ready", "playback", "remote track", "microphone", "speaker"))
	}

	// m mutes the doctor: the patient hears nothing more. How soon is a
	// figure, logged against its 200 ms target (95 to 191 ms on a quiet
	// machine): it includes the patient's jitter buffer, which Chromium
	// grows to 280 ms on a loaded one, so it is not asserted; the sound
	// must stop within a second.
	pressed := float64(time.Now().UnixMilli())
	pane.keys("m")
	pane.waitFor("MIC MUTED", 5*time.Second, logPath)
	after := pt.waitEvent("two seconds of the muted call", 10*time.Second, func(e peerEvent) bool {
		return e.Event == "stats" && e.At > pressed+2000
	})
	late := after.AudioLoudAt - pressed
	if late > 1000 {
		t.Errorf("the patient still heard the doctor %.0f ms after m was pressed", late)
	}
	t.Logf("FIGURE muted: the patient heard the doctor last %.0f ms after m was pressed (target 200 ms)", late)

	// The microphone goes away mid-call (its module unloaded): the call stays
	// up, the screen says so, and the patient still gets the console's sound
	// (silence) and picture.
	pane.keys("m")
	pane.waitFor("mic on", 5*time.Second, logPath)
	unmuted := float64(time.Now().UnixMilli())
	before := pt.waitEvent("stats", 5*time.Second, func(e peerEvent) bool { return e.Event == "stats" && e.At > unmuted })
	pa.unloadModule("module-remap-source")
	pane.waitFor("microphone lost", 10*time.Second, logPath)
	later := pt.waitEvent("stats two seconds on", 10*time.Second, func(e peerEvent) bool { return e.Event == "stats" && e.At > before.At+2000 })
	if later.AudioPacketsIn <= before.AudioPacketsIn+50 || later.FramesDecoded <= before.FramesDecoded {
		t.Errorf("after the microphone went, the patient got %d audio packets and %d frames in 2 s", later.AudioPacketsIn-before.AudioPacketsIn, later.FramesDecoded-before.FramesDecoded)
	}
	if screen := pane.capture(); !strings.Contains(screen, "Connected") {
		t.Errorf("the call did not stay up without its microphone:\n%s", screen)
	}
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
}

// grepLines returns the lines of text holding any of words.
func grepLines(text string, words ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestSoundDevicesCommand: teleconsole devices lists the sound server's
// microphones and speakers, the defaults marked, and no camera.
func TestSoundDevicesCommand(t *testing.T) {
	pa := startPulse(t)
	cmd := exec.Command(binary(t), "devices")
	cmd.Env = pa.environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("teleconsole devices: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^camera +- +none found$`),
		regexp.MustCompile(`(?m)^microphone +\* +microphone +Microphone$`),
		regexp.MustCompile(`(?m)^microphone +mic\.monitor +Monitor of Microphone$`),
		regexp.MustCompile(`(?m)^speaker +\* +speaker +Speaker$`),
		regexp.MustCompile(`(?m)^speaker +mic +Microphone$`),
	} {
		if !want.MatchString(text) {
			t.Errorf("teleconsole devices has no line like %s:\n%s", want, text)
		}
	}
}

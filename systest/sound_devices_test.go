package systest

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Devices that come and go while the console runs: each call looks for its
// microphone and speaker afresh (call/sound.go), so one plugged in after
// the console started, or back after it was lost, is used at the next
// call, and one lost mid-call is said on the call screen.

// heardTone waits for a stats event of the patient's after since (Unix ms)
// in which what it hears is strongest near hz.
func heardTone(t testing.TB, pt *browserPeer, what string, hz, since float64) peerEvent {
	t.Helper()
	return pt.waitEvent(what, 20*time.Second, func(e peerEvent) bool {
		return e.Event == "stats" && e.At > since && e.AudioLevel > 0.01 && math.Abs(e.AudioPeakHz-hz) < 20
	})
}

// nowMs is the time as the pages stamp their events.
func nowMs() float64 { return float64(time.Now().UnixMilli()) }

// TestInteropSoundDevicesPluggedIn: the console starts on a sound server
// with no device at all, so it says it has no microphone and no speaker;
// the devices appear (their modules loaded) while it waits, and the next
// call uses both: the patient hears the microphone's 1 kHz tone and the
// patient's voice is on the speaker.
func TestInteropSoundDevicesPluggedIn(t *testing.T) {
	pa := startPulseWith(t, nil, "Server Name")
	pane, uri, logPath := startSoundConsole(t, pa)
	if logText, _ := os.ReadFile(logPath); !strings.Contains(grepLines(string(logText), "engine ready"), "no camera or microphone found)\" speaker=false") {
		t.Fatalf("the console found devices on a server that has none:\n%s", grepLines(string(logText), "engine ready"))
	}
	pa.run(pulseDevices...)
	pa.play("mic", tone(1000, 0.3, time.Second))
	voice := filepath.Join(t.TempDir(), "voice.wav")
	writeWAV(t, voice, syllables(tone(600, 0.5, 2*time.Second)))

	pt := startSoundPatient(t, uri, voice)
	callPatient(t, pane, pt, logPath)
	got := heardTone(t, pt, "the microphone plugged in, heard by the patient", 1000, 0)
	t.Logf("the patient hears the microphone plugged in after the start: peak %.0f Hz, level %.3f", got.AudioPeakHz, got.AudioLevel)
	heard := pa.record("speaker.monitor", 2*time.Second)
	if r, share := rms(heard), toneShare(heard, 600); r < 500 || share < 0.5 {
		logText, _ := os.ReadFile(logPath)
		t.Errorf("the patient's voice is not on the speaker plugged in: RMS %.0f, share at 600 Hz %.2f; log:\n%s", r, share, grepLines(string(logText), "playback", "speaker", "microphone"))
	} else {
		t.Logf("the speaker plugged in plays the patient: RMS %.0f, %.2f at 600 Hz", r, share)
	}
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
}

// roomDevices are a sound server whose microphone is the only source
// called so: a sink "room" the test plays into, its monitor remapped as
// "microphone", and the speaker. A microphone asked for by id that is
// gone then matches nothing, so what the console does without it shows.
var roomDevices = []string{
	"load-module module-null-sink sink_name=speaker " + pulseSink + " sink_properties=device.description=Speaker",
	"load-module module-null-sink sink_name=room " + pulseSink + " sink_properties=device.description=Room",
	roomMicrophone,
	"set-default-sink speaker",
	"set-default-source microphone",
}

const roomMicrophone = "load-module module-remap-source master=room.monitor source_name=microphone source_properties=device.description=Microphone"

// TestInteropSoundDeviceBack: the console's microphone and speaker are
// chosen by id. Three calls to one Chromium patient:
//   - the microphone is heard (1 kHz), then unloaded mid-call: the call
//     screen says "microphone lost", the call stays up;
//   - with it still gone the next call replaces it by the synthetic tone
//     (440 Hz), the screen saying so, and the call is up;
//   - the microphone loaded again, the next call's patient hears its
//     1 kHz; then the speaker's sink is unloaded mid-call: the screen says
//     "speaker lost", the patient's level meter goes on, the call stays up.
func TestInteropSoundDeviceBack(t *testing.T) {
	pa := startPulseWith(t, roomDevices, "Default Source: microphone")
	pa.play("room", tone(1000, 0.3, time.Second))
	voice := filepath.Join(t.TempDir(), "voice.wav")
	writeWAV(t, voice, syllables(tone(600, 0.5, 2*time.Second)))
	pane, uri, logPath := startSoundConsole(t, pa, "--microphone", "microphone", "--speaker", "speaker")
	pt := startBrowserPeer(t, "patient.mjs",
		"--console", uri, "--hpr", testDoctor, "--ready-interval", "500", "--candidate-delay", "0",
		"--photo-kb", "1", "--stats-interval", "250", "--mic-file", voice, "--rejoin")
	stillUp := func(when string) {
		t.Helper()
		if screen := pane.capture(); !strings.Contains(screen, "Connected") {
			t.Errorf("%s: the call is not up:\n%s", when, screen)
		}
	}
	next := func() float64 {
		t.Helper()
		waitRow(t, pane, "Manish Pravin Kahane", "waiting", logPath)
		at := nowMs()
		pane.keys("Enter")
		pane.waitFor("Connected", 20*time.Second, logPath)
		return at
	}

	// 1: heard, then lost.
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	pt.waitEvent("the doctor's ACK", 10*time.Second, isSignal("received", "ACK"))
	at := next()
	heardTone(t, pt, "the microphone at the first call", 1000, at)
	pa.unloadModule("module-remap-source")
	pane.waitFor("microphone lost", 10*time.Second, logPath)
	stillUp("the microphone lost")
	endConsoleCall(pane, logPath)

	// 2: still gone: the tone instead, said.
	at = next()
	got := heardTone(t, pt, "the synthetic tone in place of the microphone", 440, at)
	t.Logf("without its microphone the console sends its tone: peak %.0f Hz", got.AudioPeakHz)
	pane.waitFor("microphone failed", 10*time.Second, logPath)
	stillUp("the microphone failed to open")
	endConsoleCall(pane, logPath)

	// 3: back, and used; then the speaker goes.
	pa.run(roomMicrophone)
	at = next()
	got = heardTone(t, pt, "the microphone back at the next call", 1000, at)
	t.Logf("the microphone loaded again is heard at the next call: peak %.0f Hz", got.AudioPeakHz)
	if screen := pane.capture(); strings.Contains(screen, "microphone") && strings.Contains(screen, "lost") {
		t.Errorf("the call with the microphone back still says it is lost:\n%s", screen)
	}
	pa.unloadModule("module-null-sink", "sink_name=speaker")
	pane.waitFor("speaker lost", 10*time.Second, logPath)
	meter := regexp.MustCompile(`audio +\[#+-*\]`)
	deadline := time.Now().Add(5 * time.Second)
	for !meter.MatchString(pane.capture()) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if screen := pane.capture(); !meter.MatchString(screen) {
		t.Errorf("with the speaker lost the screen shows no level for the patient's sound:\n%s", screen)
	}
	stillUp("the speaker lost")
	endConsoleCall(pane, logPath)
}

package systest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The interop tests prove the console against a real libwebrtc peer,
// Debian's headless Chromium (the engine inside the patients' flutter-webrtc
// apps; browser_test.go), as patient and as doctor. Everything runs on
// 127.0.0.1.

// fpsIn reads the frames per second decoded of the patient's video from the
// call screen's stats panel ("fps    20/30": in/out).
var fpsRE = regexp.MustCompile(`fps\s+(\d+)/(\d+)`)

func fpsIn(screen string) int {
	m := fpsRE.FindStringSubmatch(screen)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestInteropChromiumPatient: Chromium plays the reference patient app,
// quirks and all, and the doctor calls it from the real console in a
// terminal. Both decode each other's video, and the browser hears the
// console's sound.
func TestInteropChromiumPatient(t *testing.T) {
	start := time.Now()
	pane, uri, logPath := startConsole(t)
	pt := startBrowserPeer(t, "patient.mjs",
		"--console", uri,
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", "ganeshborse@hpr.ndhm",
		"--ready-interval", "1000",
		"--candidate-delay", "1000", // the reference app holds each candidate about 1 s
		"--answer-delay", "1500", // and its ANSWER is overtaken by them (docs/protocol.md §3)
		"--photo-kb", "1024", // a 1 MB base64 photo on every message (docs/protocol.md §2)
		"--stats-interval", "500",
	)
	t.Logf("Chromium patient up %v after start", time.Since(start).Round(time.Millisecond))
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	pt.waitEvent("the doctor's ACK", 10*time.Second, isSignal("received", "ACK"))

	dial := time.Now()
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	t.Logf("Connected on the doctor's screen %v after enter", time.Since(dial).Round(time.Millisecond))

	// The console had candidates before the ANSWER, and still connected.
	ev := pt.snapshot()
	firstCand, answer := index(ev, isSignal("sent", "CANDIDATE")), index(ev, isSignal("sent", "ANSWER"))
	if answer < 0 || firstCand < 0 || firstCand > answer {
		t.Errorf("want a CANDIDATE sent before the ANSWER (the reordering the console must buffer); CANDIDATE at %d, ANSWER at %d", firstCand, answer)
	}

	// Chromium decodes the console's video and hears its audio.
	got := pt.waitEvent("the console's video and audio decoded by Chromium", 20*time.Second, mediaFlows)
	t.Logf("Chromium: %d frames decoded (%dpx wide), %d audio packets, energy %.3f, path %s",
		got.FramesDecoded, got.WidthIn, got.AudioPacketsIn, got.AudioEnergy, got.Path)
	checkLoopbackPath(t, got.Path)
	checkOneStream(t, got)

	// The console decodes Chromium's video: its stats panel counts decoded
	// frames per second, and the video panel has a picture.
	deadline := time.Now().Add(15 * time.Second)
	var screen string
	for {
		screen = pane.capture()
		if fpsIn(screen) > 0 && !strings.Contains(screen, "waiting for video") && strings.Contains(screen, "VP8+opus") {
			break
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(logPath)
			t.Fatalf("the console never showed Chromium's video decoded (fps in > 0, VP8+opus); screen:\n%s\nlog tail:\n%s", screen, tail(string(logText), 30))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("console decodes Chromium's video at %d fps", fpsIn(screen))
	logText, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind=video codec=video/VP8", "kind=audio codec=audio/opus"} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("console log has no remote track %q", want)
		}
	}

	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	pt.waitEvent("the doctor's BYE", 10*time.Second, isSignal("received", "BYE"))
	// The waiting room comes back by itself. A patient who leaves the app's
	// screen says BYE: the waiting room shows them gone.
	waitRow(t, pane, "Manish Pravin Kahane", "done", logPath)
	pt.stop()
	waitRow(t, pane, "Manish Pravin Kahane", "left", logPath)
	if screen := pane.capture(); strings.Contains(screen, "level=") || strings.Contains(screen, "pion") {
		t.Fatalf("log output leaked onto the terminal:\n%s", screen)
	}
	if e, ok := pt.find(func(e peerEvent) bool { return e.Event == "error" }); ok {
		t.Errorf("the Chromium patient reported an error: %s", e.Text)
	}
	if _, ok := pt.find(isSignal("sent", "BYE")); !ok {
		t.Errorf("the Chromium patient sent no BYE when it left")
	}
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)
}

// TestInteropChromiumDoctor is the reverse: Chromium as the doctor (the HSPA
// side of docs/protocol.md) calls teleconsole's simulated patient. Both sides
// connect and decode each other's video; the browser hears the patient.
func TestInteropChromiumDoctor(t *testing.T) {
	doc := startBrowserPeer(t, "doctor.mjs",
		"--hpr", "ganeshborse@hpr.ndhm",
		"--auto-call", "0", // call the first patient who READYs
		"--candidate-delay", "1000",
		"--stats-interval", "500",
	)
	uri := doc.waitEvent("listening", time.Second, func(e peerEvent) bool { return e.Event == "listening" }).URI
	_, out := startPatient(t, binary(t), uri, freePort(t))
	saw := func(want string, d time.Duration) {
		t.Helper()
		deadline := time.Now().Add(d)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("the patient never printed %q within %v; output:\n%s\nChromium doctor:\n%s", want, d, tail(out.String(), 30), doc.dump(30))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	saw("ACK received", 10*time.Second)
	saw("OFFER received", 10*time.Second)
	saw("ANSWER sent", 10*time.Second)
	saw("call Connected", 20*time.Second)
	saw("first video frame decoded", 10*time.Second)
	doc.waitEvent("the OFFER", time.Second, isSignal("sent", "OFFER"))
	doc.waitEvent("the patient's ANSWER", time.Second, isSignal("received", "ANSWER"))
	got := doc.waitEvent("the patient's video and audio decoded by Chromium", 20*time.Second, mediaFlows)
	t.Logf("Chromium doctor: %d frames decoded, %d audio packets, energy %.3f, path %s",
		got.FramesDecoded, got.AudioPacketsIn, got.AudioEnergy, got.Path)
	checkLoopbackPath(t, got.Path)
	checkOneStream(t, got)
	// Still up on the patient's side after the browser decoded 30 frames.
	if !strings.Contains(out.String(), "call Connected") || strings.Contains(out.String(), "call Ended") {
		t.Fatalf("the patient's call is not up; output:\n%s", out.String())
	}

	doc.command("hangup")
	saw("BYE received from the doctor", 10*time.Second)
	saw("call Ended", 10*time.Second)
	if e, ok := doc.find(func(e peerEvent) bool { return e.Event == "error" }); ok {
		t.Errorf("the Chromium doctor reported an error: %s", e.Text)
	}
}

// TestInteropLoopbackOnly: on a machine whose only network is loopback (make
// interop's namespace), the console and teleconsole patient, given no ICE
// servers and no other network flag, find that out, gather loopback
// candidates, and connect; both say so in their logs.
func TestInteropLoopbackOnly(t *testing.T) {
	if !onlyLoopback() {
		t.Fatal("this test needs a network namespace whose only interface is loopback: run it with make interop")
	}
	pane, uri, logPath := startConsole(t)
	patientLog := filepath.Join(t.TempDir(), "patient.log")
	_, out := startPatient(t, binary(t), uri, freePort(t), "--ready-interval", "300ms", "--log", patientLog)
	waitRow(t, pane, "Manish Pravin Kahane", "waiting", logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 15*time.Second, logPath)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "first video frame decoded") {
		if time.Now().After(deadline) {
			t.Fatalf("the patient decoded no video of the console's; output:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, l := range []string{logPath, patientLog} {
		text, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), "no network interface but loopback") {
			t.Errorf("%s does not say that media went on loopback", filepath.Base(l))
		}
	}
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)
}

package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The interop tests prove the console against a real libwebrtc peer: Debian's
// headless Chromium (the engine inside the patients' flutter-webrtc apps),
// driven by playwright-core through interop/patient.mjs or interop/doctor.mjs.
// The Node script serves the browser's on_message endpoint, since a page
// cannot, and bridges each signal to the page. Everything runs on 127.0.0.1.

// interopScript returns the path of one of interop/*.mjs, and fails the test
// with what to run when Chromium, Node or playwright-core is missing: a
// missing peer is a failure, never a skip.
func interopScript(t testing.TB, name string) string {
	t.Helper()
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is needed for the interop test (run make deps): %v", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("Node.js is needed for the interop test (run make deps): %v", err)
	}
	dir, err := filepath.Abs("interop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		t.Fatalf("playwright-core is not installed (run make interop, which runs npm ci in interop/): %v", err)
	}
	return filepath.Join(dir, name)
}

// peerEvent is one line a browser peer prints: an event, and for "stats"
// the page's getStats figures.
type peerEvent struct {
	Event     string  `json:"event"`
	At        float64 `json:"at"` // Unix milliseconds, as the Node process saw it
	Type      string  `json:"type"`
	Text      string  `json:"text"`
	URI       string  `json:"uri"`
	State     string  `json:"state"`
	Candidate string  `json:"candidate"`
	FrameAt   float64 `json:"frameAt"` // Unix milliseconds of the first decoded frame, from the page

	FramesDecoded  int     `json:"framesDecoded"`
	FramesEncoded  int     `json:"framesEncoded"`
	VideoPacketsIn int     `json:"videoPacketsIn"`
	AudioPacketsIn int     `json:"audioPacketsIn"`
	AudioEnergy    float64 `json:"audioEnergy"`
	AudioLevel     float64 `json:"audioLevel"`
	VideoCodecIn   string  `json:"videoCodecIn"`
	AudioCodecIn   string  `json:"audioCodecIn"`
	WidthIn        int     `json:"widthIn"`
	Path           string  `json:"path"`

	// The page plays the far side through one media element fed with the
	// video track's event.streams[0], as the patients' app does.
	Elements     int    `json:"elements"`
	PlayingAudio int    `json:"playingAudio"`
	PlayingVideo int    `json:"playingVideo"`
	AudioStream  string `json:"audioStream"`
	VideoStream  string `json:"videoStream"`
}

func (e peerEvent) String() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// browserPeer is a running interop/*.mjs: Node, its Chromium, and the events
// it printed so far.
type browserPeer struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *syncBuffer
	exited chan struct{}

	mu     sync.Mutex
	events []peerEvent
	junk   []string // stdout lines that were not events
}

// startBrowserPeer starts script with args, and waits until its endpoint
// and browser are up ("listening").
func startBrowserPeer(t testing.TB, script string, args ...string) *browserPeer {
	t.Helper()
	path := interopScript(t, script)
	cmd := exec.Command("node", append([]string{path}, args...)...)
	// Its own process group, so Chromium's processes can be ended with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &browserPeer{t: t, name: script, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", script, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var e peerEvent
			p.mu.Lock()
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Event == "" {
				p.junk = append(p.junk, sc.Text())
			} else {
				p.events = append(p.events, e)
			}
			p.mu.Unlock()
		}
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)
	p.waitEvent("listening", 45*time.Second, func(e peerEvent) bool { return e.Event == "listening" })
	return p
}

// stop ends the peer as a user closing the app does (SIGTERM: the page says
// BYE and the browser closes), and kills what is left after a grace period.
func (p *browserPeer) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	// Chromium's helpers are in the peer's process group: make sure none
	// outlives the test, whatever happened to Node.
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	if p.t.Failed() {
		p.t.Logf("%s events (last 30):\n%s", p.name, p.dump(30))
	}
}

// command writes one command line to the peer (doctor.mjs: call, hangup).
func (p *browserPeer) command(c string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, c+"\n"); err != nil {
		p.t.Fatalf("%s: command %q: %v", p.name, c, err)
	}
}

func (p *browserPeer) snapshot() []peerEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]peerEvent(nil), p.events...)
}

// find returns the first event that matches, if any.
func (p *browserPeer) find(match func(peerEvent) bool) (peerEvent, bool) {
	for _, e := range p.snapshot() {
		if match(e) {
			return e, true
		}
	}
	return peerEvent{}, false
}

// waitEvent waits until the peer printed an event that matches, and fails
// with its recent events and stderr when it does not within d.
func (p *browserPeer) waitEvent(what string, d time.Duration, match func(peerEvent) bool) peerEvent {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if e, ok := p.find(match); ok {
			return e
		}
		select {
		case <-p.exited:
			if e, ok := p.find(match); ok {
				return e
			}
			p.t.Fatalf("%s exited before %s; events:\n%s\nstderr:\n%s", p.name, what, p.dump(30), tail(p.stderr.String(), 30))
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.t.Fatalf("%s: no %s within %v; events:\n%s\nstderr:\n%s", p.name, what, d, p.dump(30), tail(p.stderr.String(), 30))
	return peerEvent{}
}

// dump is the last n events, without the stats lines but the last one.
func (p *browserPeer) dump(n int) string {
	var lines []string
	var lastStats string
	for _, e := range p.snapshot() {
		if e.Event == "stats" {
			lastStats = e.String()
			continue
		}
		lines = append(lines, e.String())
	}
	if lastStats != "" {
		lines = append(lines, lastStats)
	}
	p.mu.Lock()
	lines = append(lines, p.junk...)
	p.mu.Unlock()
	return tail(strings.Join(lines, "\n"), n)
}

func isSignal(event, typ string) func(peerEvent) bool {
	return func(e peerEvent) bool { return e.Event == event && e.Type == typ }
}

// index returns the position of the first event that matches, or -1.
func index(events []peerEvent, match func(peerEvent) bool) int {
	for i, e := range events {
		if match(e) {
			return i
		}
	}
	return -1
}

// mediaFlows is the pass mark for a browser's side of a call: it decoded
// more than 30 of the other side's video frames (VP8), and heard its sound
// (Opus packets decoded to a non-zero energy). The page plays both through
// the one element that shows the video, so the energy is there only when the
// sender put its audio and video in one stream.
func mediaFlows(e peerEvent) bool {
	return e.Event == "stats" && e.FramesDecoded > 30 && e.VideoCodecIn == "video/VP8" &&
		e.AudioPacketsIn > 0 && e.AudioEnergy > 0 && e.AudioCodecIn == "audio/opus"
}

// checkOneStream fails unless the browser got both of the Go peer's tracks
// in one stream and plays them through one element.
func checkOneStream(t *testing.T, e peerEvent) {
	t.Helper()
	if e.AudioStream == "" || e.AudioStream != e.VideoStream {
		t.Errorf("Chromium received the audio in stream %q and the video in %q; want one stream", e.AudioStream, e.VideoStream)
	}
	if e.Elements != 1 || e.PlayingAudio != 1 || e.PlayingVideo != 1 {
		t.Errorf("Chromium plays %d audio and %d video tracks in %d elements; want both in one", e.PlayingAudio, e.PlayingVideo, e.Elements)
	}
}

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

// checkLoopbackPath fails unless Chromium's selected candidate pair reaches
// the Go peer on 127.0.0.1. In a namespace with only loopback (make interop)
// Chromium's own end must be 127.0.0.1 too; on a host with other interfaces
// Chromium may send from its own address there, which stays on this host.
func checkLoopbackPath(t *testing.T, path string) {
	t.Helper()
	local, remote, ok := strings.Cut(path, " -> ")
	if !ok || !strings.Contains(remote, " 127.0.0.1:") {
		t.Errorf("Chromium's selected candidate pair is %q; want the Go peer on 127.0.0.1", path)
		return
	}
	if onlyLoopback() && !strings.Contains(local, " 127.0.0.1:") {
		t.Errorf("Chromium's selected candidate pair is %q; want 127.0.0.1 on both ends", path)
	}
}

// onlyLoopback reports whether every interface that is up is a loopback one.
func onlyLoopback() bool {
	ifs, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp != 0 && i.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// startInteropConsole starts the real console in tmux as a doctor on the
// same machine as the browser patient runs it: no ICE servers and no other
// network flag. In make interop's namespace, whose only interface is
// loopback, the console finds that out and gathers loopback candidates.
func startInteropConsole(t testing.TB) (pane *tmuxPane, uri, logPath string) {
	t.Helper()
	bin := binary(t)
	addr := freePort(t)
	logPath = filepath.Join(t.TempDir(), "console.log")
	pane = startTmux(t, 80, 24, []string{"TERM=xterm-256color"},
		bin,
		"--listen", addr,
		"--hpr", "ganeshborse@hpr.ndhm",
		"--name", "Ganesh Vikram Borse",
		"--ice-servers", "",
		"--media", "synthetic",
		"--verify", "off",
		"--log", logPath,
	)
	pane.waitFor("Waiting room", 10*time.Second, logPath)
	return pane, "http://" + addr + "/api/v1", logPath
}

// TestInteropChromiumPatient: Chromium plays the reference patient app,
// quirks and all, and the doctor calls it from the real console in a
// terminal. Both decode each other's video, and the browser hears the
// console's sound.
func TestInteropChromiumPatient(t *testing.T) {
	start := time.Now()
	pane, uri, logPath := startInteropConsole(t)
	pt := startBrowserPeer(t, "patient.mjs",
		"--console", uri,
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", "ganeshborse@hpr.ndhm",
		"--ready-interval", "1000",
		"--candidate-delay", "1000", // the reference app holds each candidate about 1 s
		"--answer-delay", "1500", // and its ANSWER is overtaken by them (contract §3)
		"--photo-kb", "1024", // a 1 MB base64 photo on every message (contract §2)
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
// side of the contract) calls teleconsole's simulated patient. Both sides
// connect and decode each other's video; the browser hears the patient.
func TestInteropChromiumDoctor(t *testing.T) {
	doc := startBrowserPeer(t, "doctor.mjs",
		"--hpr", "ganeshborse@hpr.ndhm",
		"--auto-call", "0", // call the first patient who READYs
		"--candidate-delay", "1000",
		"--stats-interval", "500",
	)
	out := &syncBuffer{}
	pat := exec.Command(binary(t), "patient",
		"--console", doc.waitEvent("listening", time.Second, func(e peerEvent) bool { return e.Event == "listening" }).URI,
		"--listen", freePort(t),
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", "ganeshborse@hpr.ndhm",
		"--ice-servers", "",
		"--ready-interval", "1s",
	)
	pat.Stdout, pat.Stderr = out, out
	if err := pat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pat.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = pat.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = pat.Process.Kill()
		}
		if t.Failed() {
			t.Logf("patient output:\n%s", tail(out.String(), 40))
		}
	})
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
	pane, uri, logPath := startInteropConsole(t)
	patientLog := filepath.Join(t.TempDir(), "patient.log")
	out := &syncBuffer{}
	pat := exec.Command(binary(t), "patient",
		"--console", uri,
		"--listen", freePort(t),
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", "ganeshborse@hpr.ndhm",
		"--ice-servers", "",
		"--ready-interval", "300ms",
		"--log", patientLog,
	)
	pat.Stdout, pat.Stderr = out, out
	if err := pat.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pat.Process.Signal(os.Interrupt)
		_ = pat.Wait()
		if t.Failed() {
			t.Logf("patient output:\n%s", tail(out.String(), 30))
		}
	})
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

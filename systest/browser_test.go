package systest

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Real libwebrtc peers: Debian's headless Chromium, driven by
// playwright-core through interop/patient.mjs or interop/doctor.mjs. The
// Node script serves the browser's on_message endpoint, since a page
// cannot, and bridges each signal to the page.

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
	dir, err := filepath.Abs(filepath.Join("..", "interop"))
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
	AudioDuration  float64 `json:"audioDuration"` // seconds of audio received (totalSamplesDuration)
	AudioPeakHz    float64 `json:"audioPeakHz"`   // where the received sound is strongest, from the page's analyser
	AudioSumSq     float64 `json:"audioSumSq"`    // the received sound's sum of squares (full scale 1) over AudioCount samples
	AudioCount     float64 `json:"audioCount"`
	AudioLoudAt    float64 `json:"audioLoudAt"` // Unix ms of the last 20 ms heard above -40 dBFS
	VideoCodecIn   string  `json:"videoCodecIn"`
	AudioCodecIn   string  `json:"audioCodecIn"`
	WidthIn        int     `json:"widthIn"`
	Path           string  `json:"path"`

	// Chat (patient.mjs): the content_value as sent or received, and
	// whether it was an encrypted box.
	Value     string `json:"value"`
	Encrypted bool   `json:"encrypted"`

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
	return startBrowserPeerEnv(t, nil, script, args...)
}

// startBrowserPeerEnv is startBrowserPeer with the environment env (nil:
// this process's), e.g. one that reaches the test's sound server.
func startBrowserPeerEnv(t testing.TB, env []string, script string, args ...string) *browserPeer {
	t.Helper()
	path := interopScript(t, script)
	cmd := exec.Command("node", append([]string{path}, args...)...)
	cmd.Env = env
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

// count is how many of the peer's events match.
func (p *browserPeer) count(match func(peerEvent) bool) int {
	n := 0
	for _, e := range p.snapshot() {
		if match(e) {
			n++
		}
	}
	return n
}

// waitNth waits for the nth event that matches.
func (p *browserPeer) waitNth(b testing.TB, what string, n int, d time.Duration, match func(peerEvent) bool) peerEvent {
	b.Helper()
	deadline := time.Now().Add(d)
	for {
		seen := 0
		for _, e := range p.snapshot() {
			if match(e) {
				if seen++; seen == n {
					return e
				}
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: %s seen %d times, not %d, within %v; events:\n%s\nstderr:\n%s",
				p.name, what, seen, n, d, p.dump(30), tail(p.stderr.String(), 20))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func unixMilli(ms float64) time.Time {
	return time.UnixMicro(int64(ms * 1000))
}

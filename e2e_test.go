package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end test drives the real binary the way a doctor does: in a
// terminal (tmux makes one, so it runs in CI with no TTY), against a
// simulated patient in a second process over loopback HTTP.

// tmuxPane is one tmux session running a program in a fixed-size terminal.
type tmuxPane struct {
	t      testing.TB
	name   string
	socket string // each pane has its own tmux server
}

func startTmux(t testing.TB, width, height int, env []string, argv ...string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed for the end-to-end test (make deps installs it): %v", err)
	}
	name := "e2e"
	socket := fmt.Sprintf("teleconsole-%d-%s-%d", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano())
	args := []string{"-L", socket, "new-session", "-d", "-s", name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	// Keep the pane after the program exits so a crash can still be read.
	args = append(args, strings.Join(quoteAll(argv), " ")+`; echo "exit status $?"; sleep 30`)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	p := &tmuxPane{t: t, name: name, socket: socket}
	t.Cleanup(func() { _ = p.tmux("kill-server").Run() })
	return p
}

func quoteAll(argv []string) []string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return q
}

// tmux returns a tmux command aimed at the pane's own server.
func (p *tmuxPane) tmux(args ...string) *exec.Cmd {
	return exec.Command("tmux", append([]string{"-L", p.socket}, args...)...)
}

func (p *tmuxPane) capture() string {
	out, err := p.tmux("capture-pane", "-p", "-t", p.name).Output()
	if err != nil {
		p.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	args := append([]string{"send-keys", "-t", p.name}, keys...)
	if out, err := p.tmux(args...).CombinedOutput(); err != nil {
		p.t.Fatalf("tmux send-keys %v: %v: %s", keys, err, out)
	}
}

// waitFor polls the screen until it contains want, and fails with the last
// screen and the log when it does not within d.
func (p *tmuxPane) waitFor(want string, d time.Duration, logPath string) string {
	p.t.Helper()
	deadline := time.Now().Add(d)
	var screen string
	for time.Now().Before(deadline) {
		screen = p.capture()
		if strings.Contains(screen, want) {
			return screen
		}
		time.Sleep(100 * time.Millisecond)
	}
	logText, _ := os.ReadFile(logPath)
	p.t.Fatalf("screen never showed %q within %v; last screen:\n%s\nconsole log tail:\n%s", want, d, screen, tail(string(logText), 40))
	return ""
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// syncBuffer collects a child process's output for the test to read while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// binary returns the teleconsole binary to test: $TELECONSOLE_BIN when set
// (make e2e builds it first), else a fresh build.
func binary(t testing.TB) string {
	t.Helper()
	if b := os.Getenv("TELECONSOLE_BIN"); b != "" {
		abs, err := filepath.Abs(b)
		if err != nil {
			t.Fatal(err)
		}
		return abs
	}
	out := filepath.Join(t.TempDir(), "teleconsole")
	cmd := exec.Command("go", "build", "-o", out, ".")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return out
}

// consultation is the real console in tmux and a simulated patient process.
type consultation struct {
	pane       *tmuxPane
	logPath    string
	bin        string
	consoleURI string
	patient    *exec.Cmd
	patientOut *syncBuffer
}

// startConsultation starts the console and a patient, and waits until the
// patient is listed in the waiting room.
func startConsultation(t *testing.T) *consultation {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	consoleAddr := freePort(t)
	patientAddr := freePort(t)
	logPath := filepath.Join(dir, "console.log")
	const doctor = "ganeshborse@hpr.ndhm"

	start := time.Now()
	pane := startTmux(t, 80, 24, []string{"TERM=xterm-256color"},
		bin,
		"--listen", consoleAddr,
		"--hpr", doctor,
		"--name", "Ganesh Vikram Borse",
		"--ice-servers", "",
		"--media", "synthetic",
		"--verify", "off",
		"--log", logPath,
	)
	pane.waitFor("Waiting room", 10*time.Second, logPath)
	t.Logf("waiting room shown %v after start", time.Since(start).Round(time.Millisecond))

	uri := "http://" + consoleAddr + "/api/v1"
	patient, patientOut := startPatient(t, bin, uri, patientAddr)
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	return &consultation{pane: pane, logPath: logPath, bin: bin, consoleURI: uri, patient: patient, patientOut: patientOut}
}

// startPatient starts the simulated patient Manish Pravin Kahane against
// the console at uri, listening on addr; it is interrupted (BYE) at the end
// of the test, and killed if it does not exit.
func startPatient(t *testing.T, bin, uri, addr string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	patient := exec.Command(bin, "patient",
		"--console", uri,
		"--listen", addr,
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", "ganeshborse@hpr.ndhm",
		"--ice-servers", "",
		"--ready-interval", "1s",
	)
	patient.Stdout = out
	patient.Stderr = out
	if err := patient.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = patient.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = patient.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = patient.Process.Kill()
		}
		if t.Failed() {
			t.Logf("patient output:\n%s", tail(out.String(), 40))
		}
	})
	return patient, out
}

// waitPatientSaw waits until the patient process printed want.
func (c *consultation) waitPatientSaw(t *testing.T, want string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(c.patientOut.String(), want) {
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(c.logPath)
			t.Fatalf("the patient never printed %q; patient output:\n%s\nconsole screen:\n%s\nconsole log tail:\n%s",
				want, tail(c.patientOut.String(), 40), c.pane.capture(), tail(string(logText), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestEndToEnd(t *testing.T) {
	c := startConsultation(t)
	c.pane.keys("Enter")
	c.pane.waitFor("Connected", 20*time.Second, c.logPath)
	c.pane.keys("e")
	c.pane.waitFor("Ended", 10*time.Second, c.logPath)
	c.waitPatientSaw(t, "BYE", 10*time.Second)
	// The waiting room comes back by itself (5 s after the end), with a
	// line on the call just ended; the doctor presses nothing.
	screen := c.pane.waitFor("Last call: Manish Pravin Kahane", 15*time.Second, c.logPath)
	if !strings.Contains(screen, "Waiting room (") || !strings.Contains(screen, "ended by doctor") {
		t.Fatalf("the waiting room did not come back with the last call's line:\n%s", screen)
	}

	// main gave the process its timer slack by executing itself again
	// (timerslack.go), and the console runs on: its log says so.
	logText, err := os.ReadFile(c.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "timer_slack=" + timerSlack.String(); !strings.Contains(string(logText), want) {
		t.Fatalf("the console log does not say %s:\n%s", want, tail(string(logText), 20))
	}

	// The console owns the terminal: nothing of its logs may appear there.
	if screen := c.pane.capture(); strings.Contains(screen, "level=") || strings.Contains(screen, "pion") {
		t.Fatalf("log output leaked onto the terminal:\n%s", screen)
	}
	// Not in a call any more, so q quits at once, and cleanly.
	c.pane.keys("q")
	c.pane.waitFor("exit status 0", 10*time.Second, c.logPath)
}

// TestEndToEndQuitDuringCall: q in a call asks first; confirming sends the
// patient a BYE and the console exits cleanly.
func TestEndToEndQuitDuringCall(t *testing.T) {
	c := startConsultation(t)
	c.pane.keys("Enter")
	c.pane.waitFor("Connected", 20*time.Second, c.logPath)
	c.pane.keys("q")
	c.pane.waitFor("y/n", 5*time.Second, c.logPath)
	c.pane.keys("y")
	c.waitPatientSaw(t, "BYE", 10*time.Second)
	c.pane.waitFor("exit status 0", 10*time.Second, c.logPath)
}

// TestEndToEndSIGTERMDuringCall: a SIGTERM in a call sends BYE and the
// console exits cleanly, as when a clinic's workstation shuts down.
func TestEndToEndSIGTERMDuringCall(t *testing.T) {
	c := startConsultation(t)
	c.pane.keys("Enter")
	c.pane.waitFor("Connected", 20*time.Second, c.logPath)
	out, err := c.pane.tmux("list-panes", "-t", c.pane.name, "-F", "#{pane_pid}").Output()
	if err != nil {
		t.Fatal(err)
	}
	shell := strings.TrimSpace(string(out))
	pids, err := exec.Command("pgrep", "-P", shell, "teleconsole").Output()
	if err != nil {
		t.Fatalf("no console process under pane shell %s: %v", shell, err)
	}
	if err := exec.Command("kill", "-TERM", strings.Fields(string(pids))[0]).Run(); err != nil {
		t.Fatal(err)
	}
	c.waitPatientSaw(t, "BYE", 10*time.Second)
	c.pane.waitFor("exit status 0", 10*time.Second, c.logPath)
}

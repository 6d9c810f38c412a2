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
	t    *testing.T
	name string
}

func startTmux(t *testing.T, width, height int, env []string, argv ...string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed for the end-to-end test (make deps installs it): %v", err)
	}
	name := fmt.Sprintf("teleconsole-e2e-%d", os.Getpid())
	args := []string{"new-session", "-d", "-s", name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	// Keep the pane after the program exits so a crash can still be read.
	args = append(args, strings.Join(quoteAll(argv), " ")+`; echo "exit status $?"; sleep 30`)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux new-session: %v: %s", err, out)
	}
	p := &tmuxPane{t: t, name: name}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", name).Run() })
	return p
}

func quoteAll(argv []string) []string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return q
}

func (p *tmuxPane) capture() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", p.name).Output()
	if err != nil {
		p.t.Fatalf("tmux capture-pane: %v", err)
	}
	return string(out)
}

func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	args := append([]string{"send-keys", "-t", p.name}, keys...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
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

func freePort(t *testing.T) string {
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
func binary(t *testing.T) string {
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

func TestEndToEnd(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	consoleAddr := freePort(t)
	patientAddr := freePort(t)
	logPath := filepath.Join(dir, "console.log")
	const doctor = "ganeshborse@hpr.ndhm"

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

	var patientOut syncBuffer
	patient := exec.Command(bin, "patient",
		"--console", "http://"+consoleAddr+"/api/v1",
		"--listen", patientAddr,
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", doctor,
		"--ice-servers", "",
		"--ready-interval", "1s",
	)
	patient.Stdout = &patientOut
	patient.Stderr = &patientOut
	if err := patient.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = patient.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = patient.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = patient.Process.Kill()
		}
		if t.Failed() {
			t.Logf("patient output:\n%s", tail(patientOut.String(), 40))
		}
	})

	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)

	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(patientOut.String(), "BYE") {
		if time.Now().After(deadline) {
			t.Fatalf("the patient never saw the doctor's BYE; patient output:\n%s", tail(patientOut.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The console owns the terminal: nothing of its logs may appear there.
	if screen := pane.capture(); strings.Contains(screen, "level=") || strings.Contains(screen, "pion") {
		t.Fatalf("log output leaked onto the terminal:\n%s", screen)
	}
	// Not in a call any more, so q quits at once, and cleanly.
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)
}

package systest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The real processes: the teleconsole binary (the console in tmux, the
// simulated patient as a process of its own) and what they print.

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
	cmd := exec.Command("go", "build", "-o", out, "teleconsole")
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
	start := time.Now()
	pane, uri, logPath := startConsole(t)
	t.Logf("waiting room shown %v after start", time.Since(start).Round(time.Millisecond))

	patientAddr := freePort(t)
	patient, patientOut := startPatient(t, bin, uri, patientAddr)
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	return &consultation{pane: pane, logPath: logPath, bin: bin, consoleURI: uri, patient: patient, patientOut: patientOut}
}

// startPatient starts the simulated patient Manish Pravin Kahane against
// the doctor at uri, listening on addr, with no ICE servers and a READY
// every second; extra flags come after those and win. It is interrupted
// (BYE) at the end of the test, and killed if it does not exit.
func startPatient(t testing.TB, bin, uri, addr string, extra ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	patient := exec.Command(bin, append([]string{"patient",
		"--console", uri,
		"--listen", addr,
		"--name", "Manish Pravin Kahane",
		"--abha", "manishkahane1992@sbx",
		"--hpr", testDoctor,
		"--ice-servers", "",
		"--ready-interval", "1s",
	}, extra...)...)
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

// startConsole starts the real console in tmux at 80x24, as a doctor on the
// same machine as the patient runs it: synthetic media, no signatures, no
// ICE servers and no other network flag (in make interop's namespace, whose
// only interface is loopback, the console finds that out and gathers
// loopback candidates), and waits for the waiting room.
func startConsole(t testing.TB) (pane *tmuxPane, uri, logPath string) {
	t.Helper()
	return startConsoleIn(t, filepath.Join(t.TempDir(), "data"))
}

// startConsoleIn is startConsole with its record and chat key in dataDir,
// and extra flags after the others.
func startConsoleIn(t testing.TB, dataDir string, extra ...string) (pane *tmuxPane, uri, logPath string) {
	return startConsoleWith(t, nil, append([]string{"--data-dir", dataDir}, extra...)...)
}

// startConsoleWith is startConsole with more environment variables
// (NAME=value) and flags, which come after startConsole's own and so win
// over them. Without --data-dir among them the record goes to a temporary
// directory.
func startConsoleWith(t testing.TB, env []string, flags ...string) (pane *tmuxPane, uri, logPath string) {
	t.Helper()
	bin := binary(t)
	addr := freePort(t)
	logPath = filepath.Join(t.TempDir(), "console.log")
	argv := append([]string{bin,
		"--listen", addr,
		"--hpr", testDoctor,
		"--name", "Ganesh Vikram Borse",
		"--ice-servers", "",
		"--media", "synthetic",
		"--verify", "off",
		"--log", logPath,
		"--data-dir", filepath.Join(t.TempDir(), "data"),
	}, flags...)
	pane = startTmux(t, 80, 24, append([]string{"TERM=xterm-256color"}, env...), argv...)
	pane.waitFor("Waiting room", 10*time.Second, logPath)
	return pane, "http://" + addr + "/api/v1", logPath
}

// timedLines keeps a child process's output lines with the time each
// arrived.
type timedLines struct {
	log        string // the process's log file, shown when a wait fails
	consoleLog string // and the console's
	mu         sync.Mutex
	partial    []byte
	lines      []string
	at         []time.Time
}

func (l *timedLines) Write(p []byte) (int, error) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.at = append(l.at, now)
		l.partial = l.partial[i+1:]
	}
}

// waitNth waits for the nth line containing s and returns when it arrived.
func (l *timedLines) waitNth(b testing.TB, s string, n int, d time.Duration) time.Time {
	b.Helper()
	deadline := time.Now().Add(d)
	for {
		l.mu.Lock()
		seen := 0
		for i, line := range l.lines {
			if strings.Contains(line, s) {
				if seen++; seen == n {
					at := l.at[i]
					l.mu.Unlock()
					return at
				}
			}
		}
		all := strings.Join(l.lines, "\n")
		l.mu.Unlock()
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(l.log)
			consoleText, _ := os.ReadFile(l.consoleLog)
			b.Fatalf("the patient printed %q %d times, not %d, within %v:\n%s\npatient log tail:\n%s\nconsole log tail:\n%s",
				s, seen, n, d, tail(all, 60), tail(string(logText), 40), tail(string(consoleText), 40))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// testDoctor is the doctor every system test's console answers for.
const testDoctor = "ganeshborse@hpr.ndhm"

package systest

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The hub end to end: the real binary as teleconsole hub (with its own
// NATS server), two consoles in tmux each connected to it as its doctor,
// and a simulated patient process for each doctor posting to the hub's
// URL.

const otherDoctor = "asharao@hpr.ndhm"

// startHub starts teleconsole hub with an embedded NATS server and the two
// test doctors, and waits until it serves; it returns the hub's
// provider_uri and NATS URL.
func startHub(t *testing.T, bin string) (uri, natsURL string) {
	t.Helper()
	dir := t.TempDir()
	doctors := filepath.Join(dir, "doctors")
	if err := os.WriteFile(doctors, []byte("# the hospital's doctors\n"+
		testDoctor+" ganesh pw-ganesh\n"+otherDoctor+" asha pw-asha\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, natsAddr := freePort(t), freePort(t)
	out := &syncBuffer{}
	cmd := exec.Command(bin, "hub", "--listen", addr, "--doctors", doctors,
		"--nats", "embedded", "--nats-listen", natsAddr, "--nats-data", filepath.Join(dir, "nats"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("hub output:\n%s", tail(out.String(), 40))
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub never served: %v\n%s", err, tail(out.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "http://" + addr + "/api/v1", "nats://" + natsAddr
}

// startHubConsole starts a console in tmux at 80x24 connected to the hub
// as doctor, logged in to NATS as user, and waits for its waiting room.
func startHubConsole(t *testing.T, bin, natsURL, doctor, user, pass string) (*tmuxPane, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "console.log")
	pane := startTmux(t, 80, 24, []string{"TERM=xterm-256color"}, bin,
		"--hub", natsURL, "--nats-user", user, "--nats-password", pass,
		"--hpr", doctor, "--ice-servers", "", "--media", "synthetic", "--log", logPath)
	screen := pane.waitFor("Waiting room", 10*time.Second, logPath)
	if !strings.Contains(screen, "via hub") || !strings.Contains(screen, "hub reachable") {
		t.Fatalf("the status bar does not say the console is on a reachable hub:\n%s", screen)
	}
	return pane, logPath
}

func TestEndToEndThroughHub(t *testing.T) {
	bin := binary(t)
	uri, natsURL := startHub(t, bin)
	paneA, logA := startHubConsole(t, bin, natsURL, testDoctor, "ganesh", "pw-ganesh")
	paneB, logB := startHubConsole(t, bin, natsURL, otherDoctor, "asha", "pw-asha")

	_, outA := startPatient(t, bin, uri, freePort(t))
	startPatient(t, bin, uri, freePort(t), "--hpr", otherDoctor, "--name", "Asha Devi Rao", "--abha", "asharao1988@sbx")

	// Each patient is listed on their own doctor's console, and only there.
	screenA := paneA.waitFor("Manish Pravin Kahane", 15*time.Second, logA)
	screenB := paneB.waitFor("Asha Devi Rao", 15*time.Second, logB)
	if strings.Contains(screenA, "Asha Devi Rao") || strings.Contains(screenB, "Manish Pravin Kahane") {
		t.Fatalf("a patient is listed on another doctor's console:\nA:\n%s\nB:\n%s", screenA, screenB)
	}

	// A call through the hub, READY to BYE.
	c := &consultation{pane: paneA, logPath: logA, bin: bin, consoleURI: uri, patientOut: outA}
	paneA.keys("Enter")
	paneA.waitFor("Connected", 20*time.Second, logA)
	paneA.keys("e")
	paneA.waitFor("Ended", 10*time.Second, logA)
	c.waitPatientSaw(t, "BYE", 10*time.Second)
	paneA.keys("q")
	paneA.waitFor("exit status 0", 10*time.Second, logA)
}

// TestEndToEndDemoThroughHub: teleconsole demo --hub runs the demo through
// a hub of its own; a call to its first patient goes through it.
func TestEndToEndDemoThroughHub(t *testing.T) {
	bin := binary(t)
	logPath := filepath.Join(t.TempDir(), "demo.log")
	cache := t.TempDir()
	pane := startTmux(t, 80, 24, []string{"TERM=xterm-256color", "XDG_CACHE_HOME=" + cache}, bin, "demo", "--hub", "--log", logPath)
	screen := pane.waitFor("Manish Pravin Kahane", 20*time.Second, logPath)
	if !strings.Contains(screen, "via hub") || !strings.Contains(screen, "hub reachable") {
		t.Fatalf("the demo's status bar does not say it runs through a hub:\n%s", screen)
	}
	// The demo says where it keeps its record.
	if !strings.Contains(screen, "demo record in") {
		t.Errorf("the demo does not say where its record is:\n%s", screen)
	}
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)
	// The call is in the demo's record, for teleconsole history.
	dir := filepath.Join(cache, "teleconsole", "demo")
	out, err := exec.Command(bin, "history", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "manishkahane1992@sbx") {
		t.Errorf("teleconsole history --data-dir %s: %v\n%s", dir, err, out)
	}
}

package systest

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The end-to-end test drives the real binary the way a doctor does: in a
// terminal (tmux makes one, so it runs in CI with no TTY), against a
// simulated patient in a second process over loopback HTTP.

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

	// main gave the process its timer slack (1 ms) by executing itself
	// again (timerslack.go), and the console runs on: its log says so.
	logText, err := os.ReadFile(c.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if want := "timer_slack=1ms"; !strings.Contains(string(logText), want) {
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

package systest

import (
	"strings"
	"testing"
	"time"
)

// TestEndToEndPatientRejoins: the patient's app dies in a call (killed: no
// BYE, no DTLS close) and is started again, and its waiting room READYs.
// The console, whose call has meanwhile lost its connection, ends the call
// at once as "patient rejoined the waiting room" instead of waiting out its
// reconnect timer, ACKs the new instance, and lists the patient again.
func TestEndToEndPatientRejoins(t *testing.T) {
	c := startConsultation(t)
	c.pane.keys("Enter")
	c.pane.waitFor("Connected", 20*time.Second, c.logPath)
	c.waitPatientSaw(t, "first video frame decoded", 10*time.Second)
	if err := c.patient.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.pane.waitFor("Reconnecting", 10*time.Second, c.logPath)

	again := &consultation{pane: c.pane, logPath: c.logPath}
	_, again.patientOut = startPatient(t, c.bin, c.consoleURI, freePort(t))
	again.waitPatientSaw(t, "ACK received", 5*time.Second)
	// Ended within a READY or two of the new instance: the reconnect timer
	// (10 s) would end it as "connection lost".
	screen := c.pane.waitFor("rejoined", 5*time.Second, c.logPath)
	if strings.Contains(screen, "connection lost") {
		t.Fatalf("the call ended as lost, not as rejoined:\n%s", screen)
	}
	waitRow(t, c.pane, "Manish Pravin Kahane", "waiting", c.logPath)
	if strings.Contains(again.patientOut.String(), "BYE") {
		t.Errorf("the new instance of the app was sent a BYE:\n%s", again.patientOut.String())
	}
	c.pane.keys("q")
	c.pane.waitFor("exit status 0", 10*time.Second, c.logPath)
}

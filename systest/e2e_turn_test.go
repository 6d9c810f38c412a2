package systest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEndToEndRelayOnly: the console and the simulated patient, both the
// real binary and both relay-only (`--ice-transport-policy relay`), meet
// through a TURN server in the test, the console reaching it over TLS and
// the patient over TCP. The console's screen and both logs name the
// relay->relay pair, and the console's allocation carries the media.
func TestEndToEndRelayOnly(t *testing.T) {
	srv, certFile := startTURN(t)
	pane, uri, logPath := startConsoleWith(t, []string{"SSL_CERT_FILE=" + certFile}, turnFlags(srv, "tls", "relay")...)
	patientLog := filepath.Join(t.TempDir(), "patient.log")
	startPatient(t, binary(t), uri, freePort(t), append(turnFlags(srv, "tcp", "relay"), "--log", patientLog)...)
	waitRow(t, pane, "Manish Pravin Kahane", "waiting", logPath)
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	var relay string
	deadline := time.Now().Add(10 * time.Second)
	for {
		screen := pane.capture()
		p, r := screenPathRE.FindStringSubmatch(screen), screenRelayRE.FindStringSubmatch(screen)
		if p != nil && p[1] == "relay->relay" && r != nil && r[2] == "ours" {
			relay = r[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the screen never showed path relay->relay through our relay:\n%s", screen)
		}
		time.Sleep(200 * time.Millisecond)
	}
	patientText, _ := os.ReadFile(patientLog)
	if !strings.Contains(string(patientText), `msg="selected pair" `) || !strings.Contains(string(patientText), "path=relay->relay") {
		t.Errorf("the patient's log has no selected relay->relay pair:\n%s", tail(string(patientText), 20))
	}
	a := srv.Allocation(relay)
	if a == nil {
		t.Fatalf("the screen's relay %s is none of the TURN server's allocations %v", relay, srv.Allocations())
	}
	before := a.Packets()
	time.Sleep(2 * time.Second)
	if carried := a.Packets() - before; carried < 200 {
		t.Errorf("the console's allocation %v carried %d packets in 2 s: too few for a call's media", a, carried)
	}
	endConsoleCall(pane, logPath)
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)
}

package systest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The booking end to end: the doctor's hours set with teleconsole
// schedule, the real console in tmux, and a simulated patient in its own
// process that books a teleconsultation over the console's booking
// endpoints, READYs on the booking, and is called from the doctor's day.

// roundTheClock is a schedule with teleconsultation slots at every hour,
// so the test finds one within a quarter of an hour whenever it runs.
const roundTheClock = `{
  "doctor": {"name": "Ganesh Vikram Borse", "hpr": "` + testDoctor + `", "speciality": "General Medicine"},
  "services": {"teleconsultation": {"slot_minutes": 15, "fee": "300", "hours": {"daily": ["00:00-24:00"]}}}
}`

func TestEndToEndBookedPatientCalledFromTheDay(t *testing.T) {
	bin := binary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	file := filepath.Join(t.TempDir(), "schedule.json")
	if err := os.WriteFile(file, []byte(roundTheClock), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "schedule", "--data-dir", dataDir, "--set", file).CombinedOutput(); err != nil {
		t.Fatalf("teleconsole schedule --set: %v\n%s", err, out)
	}
	pane, uri, logPath := startConsoleIn(t, dataDir)
	c := &consultation{pane: pane, logPath: logPath, bin: bin, consoleURI: uri}
	c.patient, c.patientOut = startPatient(t, bin, uri, freePort(t), "--book", "Teleconsultation")
	c.waitPatientSaw(t, "booked ", 15*time.Second)
	pane.waitFor("Manish Pravin Kahane", 15*time.Second, logPath)
	screen := pane.waitFor("booked ", 5*time.Second, logPath)
	if strings.Contains(screen, "walk-in") {
		t.Fatalf("the booked patient is shown as a walk-in:\n%s", screen)
	}

	pane.keys("d")
	screen = pane.waitFor("(1 booked)", 5*time.Second, logPath)
	if !strings.Contains(screen, "Manish Pravin Kahane") || !strings.Contains(screen, "arrived") {
		t.Fatalf("the day does not show the patient arrived:\n%s", screen)
	}
	pane.keys("Enter")
	pane.waitFor("Connected", 20*time.Second, logPath)
	c.waitPatientSaw(t, "APPOINTMENT_STARTED", 10*time.Second)
	pane.keys("e")
	pane.waitFor("Ended", 10*time.Second, logPath)
	c.waitPatientSaw(t, "on_update: COMPLETED", 10*time.Second)
	pane.keys("Escape")
	pane.waitFor("Waiting room", 10*time.Second, logPath)
	pane.keys("d")
	pane.waitFor("completed", 5*time.Second, logPath)
	pane.keys("Escape")
	pane.waitFor("d the day", 5*time.Second, logPath)
	pane.keys("q")
	pane.waitFor("exit status 0", 10*time.Second, logPath)

	// The booking outlives the console: it is in the record.
	out, err := exec.Command(bin, "schedule", "--data-dir", dataDir, "--days", "1").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "video 96 (1)") {
		t.Fatalf("teleconsole schedule after the visit: %v\n%s", err, out)
	}
}

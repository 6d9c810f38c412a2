package app

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"teleconsole/record"
	"teleconsole/rx"
	"teleconsole/simpatient"
)

func TestPrescriptionSignedKeptSentAndCorrected(t *testing.T) {
	store, err := record.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	profile := rx.Profile{Name: "Dr. Ganesh Borse", Qualifications: "MBBS", Council: "Maharashtra Medical Council",
		Address: "4 FC Road, Pune", Phone: "+91 20 2567 0000"}
	key := rx.Ed25519Key{Private: ed25519.NewKeyFromSeed([]byte("teleconsole app prescription key")), ID: "teleconsole|k1|ed25519"}
	r := newConfigRig(t, func(c *Config) {
		c.Record = store
		c.Profile = func() (rx.Profile, error) { return profile, nil }
		c.RxKey = key
	})
	_, events := r.addPatient(simpatient.Config{Address: "asha@sbx", Name: "Asha Kumari", Gender: "F", KeepDir: t.TempDir()})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)

	form, mode, err := r.console.RxForm("asha@sbx")
	if err != nil || mode != "text" || !strings.Contains(form, "kind: first") || !strings.Contains(form, "sex: F") {
		t.Fatalf("form %q, mode %q, %v", form, mode, err)
	}
	form += "age: 34 years\ndiagnosis: Acute pharyngitis\nrx: paracetamol|500 mg|tablet|1 tablet|three times a day|oral|3 days\n"
	// A follow-up the history does not show needs its reason.
	if problems, _ := r.console.RxSave("asha@sbx", form+"kind: follow-up\n"); len(problems) != 1 ||
		!strings.Contains(problems[0], "the history says a first consultation: write why it is a follow-up") {
		t.Fatalf("kind changed without a reason: %q", problems)
	}
	// The profile lacks the registration number: refused, nothing kept
	// or sent, and the form check says so.
	problems, _ := r.console.RxSave("asha@sbx", form)
	if len(problems) != 1 || !strings.Contains(problems[0], "no registration number") {
		t.Fatalf("problems %q", problems)
	}
	if _, err := r.console.RxSign("asha@sbx", form); err == nil || !strings.Contains(err.Error(), "no registration number") {
		t.Fatalf("signed without a registration number: %v", err)
	}
	// A drug the guideline forbids, and an A-list drug on a first
	// consultation by text: refused with their reasons.
	profile.Registration = "MMC-2011-04567"
	bad := form + "rx: morphine|10 mg|tablet|1|at night|oral|2 days\nrx: atenolol|50 mg|tablet|1|daily|oral|30 days\n"
	_, err = r.console.RxSign("asha@sbx", bad)
	if err == nil || !strings.Contains(err.Error(), "MORPHINE is prohibited") || !strings.Contains(err.Error(), "ATENOLOL is on list A") {
		t.Fatalf("refusal: %v", err)
	}
	id := r.console.consults.of(r.console.patientFor("asha@sbx", nil))
	store.Flush()
	if list, _ := store.Prescriptions(context.Background(), id); len(list) != 0 {
		t.Fatalf("a refused prescription was kept: %d", len(list))
	}
	select {
	case e := <-events:
		if e.Kind == simpatient.EventChat {
			t.Fatalf("the patient got something before any signature: %s", e.Text)
		}
	default:
	}

	what, err := r.console.RxSign("asha@sbx", form)
	if err != nil || !strings.Contains(what, "prescription v1 signed") {
		t.Fatalf("sign: %q, %v", what, err)
	}
	// The two files travel at once: either may arrive first.
	got := waitPatientFiles(t, events, "prescription-v1.png image/png", "prescription-v1.pdf application/pdf")
	for _, e := range got {
		text, err := rx.ReadFile(e.Data)
		if err != nil {
			t.Fatal(err)
		}
		s, err := rx.ParseQR(text)
		if err != nil || s.Prescription.Patient.Name != "Asha Kumari" || s.Prescription.Doctor.Registration != "MMC-2011-04567" || s.KeyID != key.ID {
			t.Fatalf("the patient's copy: %+v, %v", s.Prescription, err)
		}
	}
	// The delivery of both is kept.
	sent := 0
	for sent < 2 {
		m := waitChat(t, r.console, func(m record.Message) bool { return m.Direction == record.Out && m.Status == statusSent })
		if strings.HasPrefix(m.Text, "prescription-v1.") {
			sent++
		}
	}

	// A correction: version 2 replaces version 1, both kept.
	fixed := strings.Replace(form, "3 days", "5 days", 1)
	if what, err := r.console.RxSign("asha@sbx", fixed); err != nil || !strings.Contains(what, "v2") || !strings.Contains(what, "replacing v1") {
		t.Fatalf("correction: %q, %v", what, err)
	}
	waitPatientFiles(t, events, "prescription-v2.png", "prescription-v2.pdf")
	list, err := store.Prescriptions(context.Background(), id)
	if err != nil || len(list) != 2 || list[1].Replaces != list[0].ID || list[1].Version != 2 {
		t.Fatalf("kept %+v, %v", list, err)
	}
	var v2 rx.Prescription
	if err := json.Unmarshal(list[1].Content, &v2); err != nil || v2.Medicines[0].Duration != "5 days" {
		t.Errorf("v2 %+v, %v", v2, err)
	}
	// The patient's copy of the consultation, among its files.
	path, err := r.console.PatientCopy(id)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(path); err != nil || !strings.HasPrefix(string(b), "%PDF-") {
		t.Errorf("the patient's copy at %s: %.10q, %v", path, b, err)
	}
	// The form opened again is the last signed.
	if form, _, err := r.console.RxForm("asha@sbx"); err != nil || !strings.Contains(form, "5 days") {
		t.Errorf("form after signing: %q, %v", form, err)
	}
}

func TestPrescriptionWithoutKey(t *testing.T) {
	store, err := record.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	r := newConfigRig(t, func(c *Config) {
		c.Record = store
		c.Profile = func() (rx.Profile, error) { return rx.Profile{}, nil }
	})
	_, events := r.addPatient(simpatient.Config{Address: "asha@sbx"})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	if _, err := r.console.RxSign("asha@sbx", "diagnosis: x\n"); !errors.Is(err, rx.ErrNoKey) {
		t.Errorf("no key: %v", err)
	}
}

// waitPatientFiles waits until the patient reports a file received with
// each of names (its name and type), in any order.
func waitPatientFiles(t *testing.T, events <-chan simpatient.Event, names ...string) []simpatient.Event {
	t.Helper()
	got := map[string]simpatient.Event{}
	timeout := time.After(10 * time.Second)
	for len(got) < len(names) {
		select {
		case e := <-events:
			for _, n := range names {
				if e.Kind == simpatient.EventChat && strings.HasPrefix(e.Text, "file received: "+n) {
					got[n] = e
				}
			}
			if e.Kind == simpatient.EventError {
				t.Fatalf("patient: %s", e.Text)
			}
		case <-timeout:
			t.Fatalf("the patient got %d of the files %q", len(got), names)
		}
	}
	out := make([]simpatient.Event, 0, len(names))
	for _, n := range names {
		out = append(out, got[n])
	}
	return out
}

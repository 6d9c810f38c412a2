package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"

	"teleconsole/fhir"
	"teleconsole/record"
	"teleconsole/rx"
)

func TestHistoryFHIR(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if r := runMain(t, "profile", "--data-dir", dir, "--name", "Dr. Ananya Rao", "--qualifications", "MBBS", "--council", "Karnataka Medical Council",
		"--registration", "KMC-45678", "--address", "12 MG Road", "--phone", "+91 80 4123 4567", "--hpr-id", "71-4425"); r.code != 0 {
		t.Fatal(r)
	}
	store, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	c := store.Begin(record.Patient{Address: "asha@sbx", Name: "Asha K", Gender: "F"}, "rao@hpr.ndhm", time.Time{}, at)
	store.CallStarted(c, at.Add(time.Minute))
	store.SetNotes(c, "free text notes")
	store.End(c, at.Add(10*time.Minute), 9*time.Minute, "ended by doctor", record.Quality{})
	p := testRx(c)
	raw, _ := json.Marshal(p.Notes)
	store.SetStructuredNotes(c, raw)
	s := signTestRx(t, p, ed25519.NewKeyFromSeed([]byte("teleconsole history fhir seed 32")), at.Add(8*time.Minute))
	pdf, err := rx.PDF(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddPrescription(context.Background(), record.Prescription{ID: p.ID, Consultation: c, Version: 1, Signed: s.Prescription.Issued,
		SHA256: s.Hash, Content: s.Content, Signature: s.Signature, KeyID: s.KeyID, PublicKey: s.PublicKey}, pdf, []byte("png")); err != nil {
		t.Fatal(err)
	}
	chat := store.Begin(record.Patient{Address: "ravi@sbx"}, "rao@hpr.ndhm", time.Time{}, at.Add(time.Hour))
	store.End(chat, at.Add(time.Hour+time.Minute), 0, "patient left", record.Quality{})
	store.Flush()
	store.Close()

	r := runMain(t, "history", "--data-dir", dir, "--format", "fhir")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d bundles, want 3 (the chat's OPConsult, then the call's OPConsult and Prescription)", len(lines))
	}
	um, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if _, err := um.Unmarshal([]byte(l)); err != nil {
			t.Errorf("bundle %d: %v", i, err)
		}
		if problems := fhir.CheckProfile([]byte(l)); len(problems) > 0 {
			t.Errorf("bundle %d: %v", i, problems)
		}
	}
	var rxBundle struct {
		Entry []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
				Data         string `json:"data"`
				Class        struct{ Code string }
				Period       struct{ Start, End string }
			}
		}
	}
	if err := json.Unmarshal([]byte(lines[2]), &rxBundle); err != nil {
		t.Fatal(err)
	}
	var gotPDF, gotEncounter bool
	for _, e := range rxBundle.Entry {
		switch e.Resource.ResourceType {
		case "Binary":
			b, _ := base64.StdEncoding.DecodeString(e.Resource.Data)
			gotPDF = bytes.Equal(b, pdf)
		case "Encounter":
			gotEncounter = e.Resource.Class.Code == "VR" && e.Resource.Period.Start == "2026-12-07T05:01:00Z" && e.Resource.Period.End == "2026-12-07T05:10:00Z"
		}
	}
	if !gotPDF || !gotEncounter {
		t.Errorf("the signed PDF as Binary: %v; the call's times on a virtual encounter: %v", gotPDF, gotEncounter)
	}
	for _, want := range []string{"Acute pharyngitis", "PARACETAMOL 500 mg tablet", "71-4425", "KMC-45678", "free text notes"} {
		if !strings.Contains(r.stdout, want) && !strings.Contains(r.stdout, base64.StdEncoding.EncodeToString([]byte(want))) {
			t.Errorf("the export lacks %q", want)
		}
	}
}

func TestHistorySummaryPDF(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	store, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	c := store.Begin(record.Patient{Address: "asha@sbx", Name: "Asha K", Gender: "F"}, "rao@hpr.ndhm", time.Time{}, at)
	p := testRx(c)
	s := signTestRx(t, p, ed25519.NewKeyFromSeed([]byte("teleconsole history pdf seed 32b")), at.Add(8*time.Minute))
	if _, err := store.AddPrescription(context.Background(), record.Prescription{ID: p.ID, Consultation: c, Version: 1, Signed: s.Prescription.Issued,
		SHA256: s.Hash, Content: s.Content, Signature: s.Signature, KeyID: s.KeyID, PublicKey: s.PublicKey}, []byte("%PDF"), []byte("png")); err != nil {
		t.Fatal(err)
	}
	store.Begin(record.Patient{Address: "ravi@sbx"}, "rao@hpr.ndhm", time.Time{}, at.Add(time.Hour))
	store.Flush()
	store.Close()
	r := runMain(t, "history", "--data-dir", dir, "--format", "pdf", "--patient", "asha@sbx")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "%PDF-") || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q, stdout %.20q", r.code, r.stderr, r.stdout)
	}
	// The patient's copy is theirs alone: one consultation, one title.
	if n := strings.Count(r.stdout, "/Type /Page\n"); n != 1 {
		t.Errorf("%d pages, want 1", n)
	}
}

package main

import (
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"teleconsole/record"
	"teleconsole/rx"
	"teleconsole/uhiclient"
)

// testRx is a valid prescription for the command tests.
func testRx(consultation string) rx.Prescription {
	return rx.Prescription{ID: "rx-1", Version: 1, Consultation: consultation, Mode: rx.Video, Kind: rx.First,
		Doctor: rx.Profile{Name: "Dr. Ananya Rao", Qualifications: "MBBS", Council: "Karnataka Medical Council", Registration: "KMC-45678",
			Address: "12 MG Road, Bengaluru", Phone: "+91 80 4123 4567", HPRID: "71-4425-8890-1234", FacilityID: "IN2910000123"},
		Patient: rx.Patient{Name: "Asha Kumari", Age: "34 years", Sex: "female", ABHA: "asha@sbx"},
		Notes: rx.Notes{ChiefComplaints: "Fever for 2 days", Examination: "Throat red", Diagnosis: rx.Diagnosis{Text: "Acute pharyngitis", System: rx.ICD10, Code: "J02.9"},
			Investigations: "CBC", Advice: "Fluids", FollowUp: "2026-12-10"},
		Medicines: []rx.Medicine{{Generic: "paracetamol", Strength: "500 mg", Form: "tablet", Dose: "1 tablet", Frequency: "three times a day", Route: "oral", Duration: "3 days"}}}
}

func signTestRx(t *testing.T, p rx.Prescription, key ed25519.PrivateKey, at time.Time) rx.Signed {
	t.Helper()
	r, err := rx.DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := rx.Sign(p, r, rx.Ed25519Key{Private: key, ID: "hspa-nha|k1"}, at)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeRxFiles(t *testing.T, dir string, s rx.Signed) (pdfPath, pngPath string) {
	t.Helper()
	pdf, err := rx.PDF(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	png, err := rx.PNG(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	pdfPath, pngPath = filepath.Join(dir, s.Prescription.ID+".pdf"), filepath.Join(dir, s.Prescription.ID+".png")
	if err := os.WriteFile(pdfPath, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pngPath, png, 0o600); err != nil {
		t.Fatal(err)
	}
	return pdfPath, pngPath
}

func TestVerifyRxCommand(t *testing.T) {
	key := ed25519.NewKeyFromSeed([]byte("teleconsole verify-rx test seed!"))
	pub, _ := uhiclient.EncodePublicKey(key.Public().(ed25519.PublicKey))
	files := t.TempDir()
	at := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	s := signTestRx(t, testRx("c-1"), key, at)
	pdfPath, pngPath := writeRxFiles(t, files, s)
	for _, path := range []string{pdfPath, pngPath} {
		r := runMain(t, "verify-rx", "--public-key", pub, path)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "GENUINE") || !strings.Contains(r.stdout, "Dr. Ananya Rao, MBBS; Reg. No. KMC-45678") ||
			!strings.Contains(r.stdout, "hspa-nha|k1 (the key given)") || !strings.Contains(r.stdout, "1. PARACETAMOL 500 mg tablet") ||
			!strings.Contains(r.stdout, "replaced:     unknown") {
			t.Errorf("%s: %+v", path, r)
		}
	}
	// Another doctor's key: not genuine.
	other := ed25519.NewKeyFromSeed(make([]byte, 32))
	otherPub, _ := uhiclient.EncodePublicKey(other.Public().(ed25519.PublicKey))
	if r := runMain(t, "verify-rx", "--public-key", otherPub, pngPath); r.code != 1 || !strings.Contains(r.stdout, "NOT GENUINE: rx-1.png: signed by a key other") {
		t.Errorf("other key: %+v", r)
	}
	// A tampered copy: the QR code's content changed (30 days for 3), the
	// signature kept.
	tampered := s
	tampered.Prescription.ID = "rx-tampered"
	tampered.Content = []byte(strings.Replace(string(s.Content), `"3 days"`, `"30 days"`, 1))
	tPDF, tPNG := writeRxFiles(t, files, tampered)
	for _, path := range []string{tPDF, tPNG} {
		if r := runMain(t, "verify-rx", path); r.code != 1 || !strings.Contains(r.stdout, "NOT GENUINE") || !strings.Contains(r.stdout, "changed after signing") {
			t.Errorf("tampered %s: %+v", path, r)
		}
	}
	// No QR code at all.
	if r := runMain(t, "verify-rx", filepath.Join("rx", "fonts", "LICENSE")); r.code != 1 || !strings.Contains(r.stdout, "NOT VERIFIED: LICENSE: no readable QR code") {
		t.Errorf("no QR: %+v", r)
	}
	if r := runMain(t, "verify-rx"); r.code != 2 {
		t.Errorf("no file: %+v", r)
	}
	if r := runMain(t, "verify-rx", pdfPath, pngPath); r.code != 2 || !strings.Contains(r.stderr, "want one FILE, got 2") {
		t.Errorf("two files: %+v", r)
	}
	if r := runMain(t, "verify-rx", "/nonexistent.pdf"); r.code != 1 || !strings.Contains(r.stderr, "no such file") {
		t.Errorf("missing file: %+v", r)
	}

	// With the doctor's record: a correction replaces version 1.
	dir := filepath.Join(t.TempDir(), "data")
	store, err := record.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := store.Begin(record.Patient{Address: "asha@sbx"}, "rao@hpr.ndhm", time.Time{}, at)
	keep := func(s rx.Signed) {
		p := s.Prescription
		if _, err := store.AddPrescription(context.Background(), record.Prescription{ID: p.ID, Consultation: c, Version: p.Version, Replaces: p.Replaces,
			Signed: p.Issued, SHA256: s.Hash, Content: s.Content, Signature: s.Signature, KeyID: s.KeyID, PublicKey: s.PublicKey}, []byte("%PDF"), []byte("PNG")); err != nil {
			t.Fatal(err)
		}
	}
	keep(s)
	if r := runMain(t, "verify-rx", "--data-dir", dir, pngPath); r.code != 0 || !strings.Contains(r.stdout, "replaced:     no\n") {
		t.Errorf("not replaced: %+v", r)
	}
	v2 := testRx("c-1")
	v2.ID, v2.Version, v2.Replaces = "rx-2", 2, "rx-1"
	v2.Medicines[0].Duration = "5 days"
	s2 := signTestRx(t, v2, key, at.Add(time.Hour))
	keep(s2)
	store.Close()
	if r := runMain(t, "verify-rx", "--data-dir", dir, pdfPath); r.code != 0 || !strings.Contains(r.stdout, "replaced:     yes, by rx-2") {
		t.Errorf("replaced: %+v", r)
	}
	_, v2PNG := writeRxFiles(t, files, s2)
	if r := runMain(t, "verify-rx", "--data-dir", dir, v2PNG); r.code != 0 || !strings.Contains(r.stdout, "version 2, replacing rx-1") {
		t.Errorf("v2: %+v", r)
	}
}

package record

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"
)

func TestPrescriptionsKeptEveryVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	c := s.Begin(Patient{Address: "asha@sbx"}, "rao@hpr.ndhm", time.Time{}, at)
	ctx := context.Background()
	v1, err := s.AddPrescription(ctx, Prescription{ID: "p1", Consultation: c, Version: 1, Signed: at, SHA256: "aa",
		Content: []byte(`{"v":1}`), Signature: []byte{1, 2}, KeyID: "hspa|k1", PublicKey: []byte{3}}, []byte("%PDF-1"), []byte("\x89PNG1"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(v1.PDF); err != nil || string(b) != "%PDF-1" {
		t.Fatalf("pdf kept: %q, %v", b, err)
	}
	if _, err := s.AddPrescription(ctx, Prescription{ID: "p2", Consultation: c, Version: 2, Replaces: "p1", Signed: at.Add(time.Minute),
		SHA256: "bb", Content: []byte(`{"v":2}`), Signature: []byte{4}, KeyID: "hspa|k1", PublicKey: []byte{3}}, []byte("%PDF-2"), []byte("\x89PNG2")); err != nil {
		t.Fatal(err)
	}
	s.SetStructuredNotes(c, []byte(`{"complaints":"fever"}`))
	s.Flush()
	list, err := s.Prescriptions(ctx, c)
	if err != nil || len(list) != 2 || list[0].ID != "p1" || list[1].Replaces != "p1" || !bytes.Equal(list[1].Content, []byte(`{"v":2}`)) ||
		!list[0].Signed.Equal(at) {
		t.Fatalf("prescriptions %+v, %v", list, err)
	}
	if _, by, err := s.PrescriptionByID(ctx, "p1"); err != nil || by != "p2" {
		t.Errorf("p1 replaced by %q, %v", by, err)
	}
	if _, by, err := s.PrescriptionByID(ctx, "p2"); err != nil || by != "" {
		t.Errorf("p2 replaced by %q, %v", by, err)
	}
	if _, _, err := s.PrescriptionByID(ctx, "nope"); err == nil {
		t.Error("an unknown id was found")
	}
	if b, err := s.StructuredNotes(ctx, c); err != nil || string(b) != `{"complaints":"fever"}` {
		t.Errorf("structured notes %q, %v", b, err)
	}
	d, err := s.Get(ctx, c)
	if err != nil || d.Files != 4 {
		t.Errorf("files %d, %v", d.Files, err)
	}
	// Forgetting the patient forgets their prescriptions.
	if _, err := s.Forget(ctx, "asha@sbx"); err != nil {
		t.Fatal(err)
	}
	if list, _ := s.Prescriptions(ctx, c); len(list) != 0 {
		t.Errorf("kept after forget: %d", len(list))
	}
	if _, err := os.Stat(v1.PDF); !os.IsNotExist(err) {
		t.Errorf("pdf after forget: %v", err)
	}
	_ = s.Close()
}

package rx

import (
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// testKey is a fixed doctor's key: the tests' signatures are the same
// every run.
func testKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte("teleconsole rx test key seed 32b"))
}

func testProfile() Profile {
	return Profile{Name: "Dr. Ananya Rao", Qualifications: "MBBS, MD (Medicine)", Council: "Karnataka Medical Council",
		Registration: "KMC-45678", HPRID: "71-4425-8890-1234", Clinic: "Rao Family Clinic", Address: "12 MG Road, Bengaluru 560001",
		Phone: "+91 80 4123 4567", FacilityID: "IN2910000123"}
}

// testPrescription is a complete, valid prescription.
func testPrescription() Prescription {
	return Prescription{ID: "8f1c2d3e-0000-4000-8000-000000000001", Version: 1, Consultation: "c-1", Mode: Video, Kind: First,
		Doctor:  testProfile(),
		Patient: Patient{Name: "Asha Kumari", Age: "34 years", Sex: "female", ABHA: "asha@sbx", Contact: "+91 98450 00000"},
		Notes: Notes{ChiefComplaints: "Fever and sore throat for 2 days", History: "No chronic illness", Allergies: "None known",
			Examination: "Throat red on video", Vitals: "Temperature 38.4 °C (reported)",
			Diagnosis:      Diagnosis{Text: "Acute pharyngitis", System: ICD10, Code: "J02.9"},
			Investigations: "CBC if fever beyond 3 days", Advice: "Warm saline gargles; fluids. Fee ₹300 paid.", FollowUp: "2026-12-10"},
		Medicines: []Medicine{
			{Generic: "paracetamol", Strength: "500 mg", Form: "tablet", Dose: "1 tablet", Frequency: "three times a day", Route: "oral", Duration: "3 days", Instructions: "after food"},
			{Generic: "cetirizine", Strength: "10 mg", Form: "tablet", Dose: "1 tablet", Frequency: "at night", Route: "oral", Duration: "5 days"},
		}}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	r := rules(t)
	if _, err := testPrescription().Validate(r); err != nil {
		t.Fatalf("a valid prescription: %v", err)
	}
	p := testPrescription()
	p.Doctor.Registration = ""
	p.Patient.Age = ""
	p.Notes.Diagnosis = Diagnosis{Code: "J02.9"}
	p.Notes.FollowUp = "10/12/2026"
	p.Mode = Audio
	p.Medicines = append(p.Medicines, Medicine{Generic: "tramadol", Dose: "1", Frequency: "1", Duration: "1"},
		Medicine{Generic: "atenolol", Dose: "1"}, Medicine{Generic: "nimesulide", Dose: "1", Frequency: "1", Duration: "1"})
	notes, err := p.Validate(r)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"no registration number", "no patient age", "no diagnosis", "ICD-10 or SNOMED", "follow-up \"10/12/2026\"",
		"medicine 3: TRAMADOL is prohibited", "medicine 4: ATENOLOL is on list A", "medicine 4 (ATENOLOL) has no frequency, no duration"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "NIMESULIDE is on none") {
		t.Errorf("notes %q", notes)
	}
	if _, _, err := Sign(p, r, Ed25519Key{Private: testKey(), ID: "hspa|k1"}, time.Now()); !errors.As(err, &ve) {
		t.Errorf("signed an invalid prescription: %v", err)
	}
}

func TestSignQRRoundTrip(t *testing.T) {
	r := rules(t)
	at := time.Date(2026, 12, 7, 10, 30, 15, 999, time.FixedZone("IST", 19800))
	s, _, err := Sign(testPrescription(), r, Ed25519Key{Private: testKey(), ID: "hspa-nha|k1"}, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
	if !s.Prescription.Issued.Equal(at.Truncate(time.Second)) || len(s.Hash) != 64 {
		t.Errorf("issued %v, hash %q", s.Prescription.Issued, s.Hash)
	}
	text, err := s.QR()
	if err != nil || len(text) > MaxQR {
		t.Fatalf("QR %d chars, %v", len(text), err)
	}
	got, err := ParseQR(text)
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != s.Hash || got.KeyID != "hspa-nha|k1" || got.Prescription.Patient.Name != "Asha Kumari" ||
		got.Prescription.Medicines[0].Name() != "PARACETAMOL" || !got.PublicKey.Equal(testKey().Public()) {
		t.Errorf("round trip: %+v", got)
	}
}

// TestSignatureRefusedAfterAnyByteChanges flips each byte of the content
// in turn: every change is refused.
func TestSignatureRefusedAfterAnyByteChanges(t *testing.T) {
	s, _, err := Sign(testPrescription(), rules(t), Ed25519Key{Private: testKey(), ID: "hspa|k1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Content {
		c := append([]byte(nil), s.Content...)
		c[i] ^= 0x01
		if _, err := Open(c, s.Signature, s.KeyID, s.PublicKey); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("byte %d changed: %v", i, err)
		}
	}
	// Another key's signature of the same content is refused too.
	other := ed25519.NewKeyFromSeed(make([]byte, 32))
	if _, err := Open(s.Content, s.Signature, s.KeyID, other.Public().(ed25519.PublicKey)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: %v", err)
	}
	// A QR code whose content was changed and re-packed is refused.
	s.Content = []byte(strings.Replace(string(s.Content), "3 days", "30 days", 1))
	text, err := s.QR()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseQR(text); !errors.Is(err, ErrBadSignature) {
		t.Errorf("changed dose: %v", err)
	}
	for _, bad := range []string{"", "hello", "TCRX1:!!!", "TCRX1:AAAA"} {
		if _, err := ParseQR(bad); !errors.Is(err, ErrNotPrescription) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSignRefusesWithoutKeyOrWhenTooLong(t *testing.T) {
	if _, _, err := Sign(testPrescription(), rules(t), nil, time.Now()); err == nil || !errors.Is(err, ErrNoKey) {
		t.Errorf("no key: %v", err)
	}
	p := testPrescription()
	// Text that does not compress: a QR code cannot hold it.
	var b strings.Builder
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		b.WriteByte(byte('a' + rnd.IntN(26)))
	}
	p.Notes.History = b.String()
	if _, _, err := Sign(p, rules(t), Ed25519Key{Private: testKey(), ID: "hspa|k1"}, time.Now()); !errors.Is(err, ErrTooLong) {
		t.Errorf("long history: %v", err)
	}
}

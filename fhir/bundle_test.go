package fhir

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/fhir/go/fhirversion"
	"github.com/google/fhir/go/jsonformat"

	"teleconsole/record"
	"teleconsole/rx"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var t0 = time.Date(2026, 12, 7, 4, 30, 0, 0, time.UTC)

func doctor() rx.Profile {
	return rx.Profile{Name: "Dr. Ananya Rao", Qualifications: "MBBS, MD", Council: "Karnataka Medical Council", Registration: "KMC-45678",
		HPRID: "71-4425-8890-1234", Clinic: "Rao Family Clinic", Address: "12 MG Road, Bengaluru", Phone: "+91 80 4123 4567", FacilityID: "IN2910000123"}
}

// inputs are the consultations every export is tested on: a full one
// with a corrected prescription, one by chat alone with nothing written,
// and one interrupted with notes but no prescription.
func inputs(t *testing.T) map[string]Input {
	t.Helper()
	rules, err := rx.DefaultRules()
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed([]byte("teleconsole fhir test key seed!!"))
	notes := rx.Notes{ChiefComplaints: "Fever and sore throat for 2 days", History: "Type 2 diabetes for 5 years", Allergies: "Penicillin (rash)",
		Examination: "Throat red on video", Vitals: "Temperature 38.4 °C", Diagnosis: rx.Diagnosis{Text: "Acute pharyngitis", System: rx.ICD10, Code: "J02.9"},
		Investigations: "CBC", Advice: "Warm saline gargles", FollowUp: "2026-12-10"}
	patient := rx.Patient{Name: "Asha Kumari", Age: "34 years", Sex: "female", ABHA: "asha@sbx", Contact: "+91 98450 00000"}
	p := rx.Prescription{ID: "2b7e5f0a-1c1d-4e8e-9a51-000000000002", Version: 2, Replaces: "2b7e5f0a-1c1d-4e8e-9a51-000000000001",
		Consultation: "c-full", Mode: rx.Video, Kind: rx.First, Doctor: doctor(), Patient: patient, Notes: notes,
		Medicines: []rx.Medicine{
			{Generic: "paracetamol", Strength: "500 mg", Form: "tablet", Dose: "1 tablet", Frequency: "three times a day", Route: "oral", Duration: "3 days", Instructions: "after food"},
			{Generic: "cetirizine", Strength: "10 mg", Form: "tablet", Dose: "1 tablet", Frequency: "at night", Duration: "5 days"},
		}}
	signed, _, err := rx.Sign(p, rules, rx.Ed25519Key{Private: key, ID: "hspa-nha|k1"}, t0.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	full := record.Detail{Consultation: record.Consultation{ID: "c-full", Patient: record.Patient{Address: "asha@sbx", Name: "Asha K", Gender: "F"},
		Doctor: "rao@hpr.ndhm", Started: t0, CallStarted: t0.Add(time.Minute), Ended: t0.Add(15 * time.Minute), LastActivity: t0.Add(16 * time.Minute),
		State: record.StateEnded}, Notes: "Looks well. <b>Reassured</b> & advised rest."}
	chat := record.Detail{Consultation: record.Consultation{ID: "c-chat", Patient: record.Patient{Address: "ravi@sbx", Name: "Ravi S", Gender: "M"},
		Doctor: "rao@hpr.ndhm", Started: t0, Ended: t0.Add(5 * time.Minute), LastActivity: t0.Add(5 * time.Minute), State: record.StateEnded}}
	cut := record.Detail{Consultation: record.Consultation{ID: "c-cut", Patient: record.Patient{Address: "meena@sbx"},
		Doctor: "rao@hpr.ndhm", Started: t0, CallStarted: t0, LastActivity: t0.Add(3 * time.Minute), State: record.StateInterrupted}}
	return map[string]Input{
		"full": {Consultation: full, Notes: notes, Doctor: doctor(), Patient: patient, Mode: rx.Video, Prescription: &signed,
			PrescriptionPDF: []byte("%PDF-1.3 test")},
		"chat": {Consultation: chat, Doctor: rx.Profile{}, Mode: rx.Text},
		"cut":  {Consultation: cut, Notes: rx.Notes{Diagnosis: rx.Diagnosis{Text: "Migraine", System: rx.SNOMED, Code: "37796009"}}, Doctor: doctor(), Mode: rx.Audio},
	}
}

func TestBundlesGolden(t *testing.T) {
	for name, in := range inputs(t) {
		docs, err := Bundles(in)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		for _, d := range docs {
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, d, "", "  "); err != nil {
				t.Fatal(err)
			}
			buf.Write(pretty.Bytes())
			buf.WriteByte('\n')
		}
		path := filepath.Join("testdata", name+".golden.json")
		if *update {
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("%s: the bundles differ from %s (go test ./fhir -update, then read the diff)", name, path)
		}
	}
}

// TestBundlesValidR4 reads every bundle with Google's FHIR R4 parser, which
// refuses unknown elements, missing required ones, bad primitives and
// references to the wrong resource types.
func TestBundlesValidR4(t *testing.T) {
	um, err := jsonformat.NewUnmarshaller("UTC", fhirversion.R4)
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range inputs(t) {
		docs, err := Bundles(in)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range docs {
			if _, err := um.Unmarshal(d); err != nil {
				t.Errorf("%s bundle %d: %v", name, i, err)
			}
		}
	}
	// The parser does refuse: a bundle with a missing required element.
	bad := []byte(`{"resourceType":"Bundle","type":"document","entry":[{"resource":{"resourceType":"MedicationRequest","subject":{"reference":"urn:uuid:x"}}}]}`)
	if _, err := um.Unmarshal(bad); err == nil {
		t.Error("a MedicationRequest without status and intent was accepted")
	}
}

func TestBundlesProfileRules(t *testing.T) {
	for name, in := range inputs(t) {
		docs, err := Bundles(in)
		if err != nil {
			t.Fatal(err)
		}
		wantDocs := 1
		if in.Prescription != nil {
			wantDocs = 2
		}
		if len(docs) != wantDocs {
			t.Errorf("%s: %d documents, want %d", name, len(docs), wantDocs)
		}
		for i, d := range docs {
			for _, p := range CheckProfile(d) {
				t.Errorf("%s document %d: %s", name, i, p)
			}
		}
	}
}

// TestProfileRulesCatchBreaks breaks one rule at a time in a good bundle:
// CheckProfile names each.
func TestProfileRulesCatchBreaks(t *testing.T) {
	in := inputs(t)["full"]
	for _, tc := range []struct {
		doc     int
		breakIt func(b obj)
		want    string
	}{
		{0, func(b obj) { b["type"] = "collection" }, "Bundle.type"},
		{0, func(b obj) { delete(b, "timestamp") }, "Bundle.timestamp"},
		{0, func(b obj) { delete(b["identifier"].(obj), "system") }, "Bundle.identifier"},
		{0, func(b obj) { delete(b["meta"].(obj), "versionId") }, "meta.versionId"},
		{0, func(b obj) { e := entries(b); e[0], e[1] = e[1], e[0] }, "Composition first"},
		{0, func(b obj) { delete(res(b, "Patient")["meta"].(obj), "profile") }, "Patient: no meta.profile"},
		{0, func(b obj) { comp(b)["type"] = coding(SNOMED, "371530004", "Consultation") }, "display"},
		{0, func(b obj) { sec(b, "422843007")["code"] = coding(SNOMED, "422843007", "Chief complaints") }, "display"},
		{0, func(b obj) { sec(b, "390906007")["code"] = coding(SNOMED, "736271009", "Outpatient care plan") }, "section code 736271009"},
		{0, func(b obj) { sec(b, "721912009")["entry"] = []any{} }, "no entry"},
		{0, func(b obj) { sec(b, "422843007")["entry"] = []any{sec(b, "721912009")["entry"].([]obj)[0]} }, "MedicationRequest not allowed"},
		{0, func(b obj) { res(b, "Encounter")["class"] = obj{"system": actCode, "code": "AMB"} }, "Encounter.class"},
		{0, func(b obj) { delete(res(b, "MedicationRequest"), "requester") }, "MedicationRequest.requester"},
		{0, func(b obj) { delete(res(b, "MedicationRequest"), "dosageInstruction") }, "MedicationRequest.dosageInstruction"},
		{0, func(b obj) { delete(res(b, "Appointment"), "start") }, "Appointment.start"},
		{0, func(b obj) { delete(res(b, "ServiceRequest"), "requester") }, "ServiceRequest.requester"},
		{0, func(b obj) { res(b, "Practitioner")["identifier"] = []obj{{"value": "x"}} }, "Practitioner.identifier"},
		{0, func(b obj) { delete(res(b, "Organization"), "name") }, "Organization.name"},
		{0, func(b obj) { res(b, "Condition")["code"] = coding("http://loinc.org", "1", "x") }, "Condition.code"},
		{0, func(b obj) { comp(b)["subject"] = obj{"reference": "urn:uuid:nowhere"} }, "unresolved reference urn:uuid:nowhere"},
		{1, func(b obj) { delete(sec(b, "440545006")["entry"].([]obj)[0], "type") }, "entry without type"},
		{1, func(b obj) { delete(res(b, "Binary"), "data") }, "Binary.data"},
		{1, func(b obj) { comp(b)["section"] = append(comp(b)["section"].([]obj), comp(b)["section"].([]obj)[0]) }, "exactly one section"},
	} {
		docs := []obj{OPConsult(in), Prescription(in)}
		// Round trip through JSON: the checks read what is written.
		b := roundTrip(t, docs[tc.doc])
		before := CheckProfile(marshal(t, b))
		if len(before) != 0 {
			t.Fatalf("good bundle: %v", before)
		}
		tc.breakIt(b)
		got := strings.Join(CheckProfile(marshal(t, b)), "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("broke %q: problems %q", tc.want, got)
		}
	}
}

func roundTrip(t *testing.T, b obj) obj {
	var out obj
	if err := json.Unmarshal(marshal(t, b), &out); err != nil {
		t.Fatal(err)
	}
	return normalise(out).(obj)
}

// normalise turns decoded JSON's []any of objects into []obj, as built.
func normalise(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalise(e)
		}
		return x
	case []any:
		if len(x) > 0 {
			if _, ok := x[0].(map[string]any); ok {
				out := make([]obj, len(x))
				for i, e := range x {
					out[i] = normalise(e).(obj)
				}
				return out
			}
		}
		for i, e := range x {
			x[i] = normalise(e)
		}
		return x
	}
	return v
}

func marshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func entries(b obj) []obj { return b["entry"].([]obj) }

func res(b obj, typ string) obj {
	for _, e := range entries(b) {
		if r := e["resource"].(obj); r["resourceType"] == typ {
			return r
		}
	}
	panic(fmt.Sprintf("no %s", typ))
}

func comp(b obj) obj { return res(b, "Composition") }

func sec(b obj, code string) obj {
	for _, s := range comp(b)["section"].([]obj) {
		if slices.ContainsFunc(s["code"].(obj)["coding"].([]obj), func(c obj) bool { return c["code"] == code }) {
			return s
		}
	}
	panic("no section " + code)
}

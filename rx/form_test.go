package rx

import (
	"reflect"
	"strings"
	"testing"
)

func TestFormRoundTrip(t *testing.T) {
	p := testPrescription()
	f := Form{Patient: Patient{Age: "34 years", Sex: "female"}, Kind: FollowUp, KindReason: "same fever, seen last week", Notes: p.Notes, Medicines: p.Medicines}
	got, problems := ParseForm(f.Text())
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	if !reflect.DeepEqual(got, f) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", got, f)
	}
}

func TestFormProblems(t *testing.T) {
	text := "age: 5 years\nsymptoms: cough\nrx: a | b | c | d | e | f | g | h | i\njust words\ncode: LOINC 123\nrx: Paracetamol | 250 mg\n"
	f, problems := ParseForm(text)
	want := []string{`line 2: no field "symptoms"`, "line 3: a medicine has 8 parts", `line 4: want "field: value"`, `line 5: code "LOINC 123"`}
	if len(problems) != len(want) {
		t.Fatalf("problems %q", problems)
	}
	for i, w := range want {
		if !strings.HasPrefix(problems[i], w) {
			t.Errorf("problem %d: %q, want %q", i, problems[i], w)
		}
	}
	if f.Patient.Age != "5 years" || len(f.Medicines) != 1 || f.Medicines[0].Strength != "250 mg" {
		t.Errorf("read %+v", f)
	}
}

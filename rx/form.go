package rx

import (
	"fmt"
	"strings"
)

// Form is what the doctor writes in the console for a prescription: the
// patient's details the call did not give, the kind of consultation, the
// structured notes and the medicines.
type Form struct {
	Patient    Patient
	Kind       Kind
	KindReason string
	Notes      Notes
	Medicines  []Medicine
}

// formFields are the form's one-line fields, in the order written, with
// where each goes.
var formFields = []struct {
	name string
	hint string
	get  func(*Form) *string
}{
	{"age", "34 years", func(f *Form) *string { return &f.Patient.Age }},
	{"sex", "", func(f *Form) *string { return &f.Patient.Sex }},
	{"weight", "", func(f *Form) *string { return &f.Patient.Weight }},
	{"kind", "first or follow-up", func(f *Form) *string { return (*string)(&f.Kind) }},
	{"kind reason", "why, when changed", func(f *Form) *string { return &f.KindReason }},
	{"complaints", "", func(f *Form) *string { return &f.Notes.ChiefComplaints }},
	{"history", "", func(f *Form) *string { return &f.Notes.History }},
	{"allergies", "", func(f *Form) *string { return &f.Notes.Allergies }},
	{"examination", "as reported or seen", func(f *Form) *string { return &f.Notes.Examination }},
	{"vitals", "as the patient reports", func(f *Form) *string { return &f.Notes.Vitals }},
	{"diagnosis", "or provisional diagnosis", func(f *Form) *string { return &f.Notes.Diagnosis.Text }},
	{"investigations", "", func(f *Form) *string { return &f.Notes.Investigations }},
	{"advice", "", func(f *Form) *string { return &f.Notes.Advice }},
	{"follow-up", "YYYY-MM-DD", func(f *Form) *string { return &f.Notes.FollowUp }},
}

// medicineFields are a medicine line's parts, split by "|".
var medicineFields = []string{"generic", "strength", "form", "dose", "frequency", "route", "duration", "instructions"}

// MedicineHint says how a medicine's line is written.
func MedicineHint() string { return "rx: " + strings.Join(medicineFields, "|") }

// Text is the form as the doctor edits it: one "field: value" a line, the
// diagnosis code as "code: ICD-10 J02.9", and each medicine as an "rx:"
// line of eight parts split by "|" (MedicineHint); "#" begins a comment.
func (f Form) Text() string {
	var b strings.Builder
	for _, fl := range formFields {
		fmt.Fprintf(&b, "%s: %s\n", fl.name, *fl.get(&f))
		if fl.name == "diagnosis" {
			code := ""
			if f.Notes.Diagnosis.Code != "" {
				code = f.Notes.Diagnosis.System + " " + f.Notes.Diagnosis.Code
			}
			fmt.Fprintf(&b, "code: %s\n", code)
		}
	}
	for _, m := range f.Medicines {
		fmt.Fprintf(&b, "rx: %s | %s | %s | %s | %s | %s | %s | %s\n", m.Generic, m.Strength, m.Form, m.Dose, m.Frequency, m.Route, m.Duration, m.Instructions)
	}
	if len(f.Medicines) == 0 {
		b.WriteString("rx: \n")
	}
	return b.String()
}

// ParseForm reads the form as the doctor wrote it; the problems name
// each line it cannot read (an unknown field, a medicine with more than
// eight parts, a code without its system).
func ParseForm(text string) (Form, []string) {
	var f Form
	var problems []string
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			problems = append(problems, fmt.Sprintf("line %d: want \"field: value\"", n))
			continue
		}
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		switch name {
		case "rx":
			if value == "" {
				continue
			}
			parts := strings.Split(value, "|")
			if len(parts) > len(medicineFields) {
				problems = append(problems, fmt.Sprintf("line %d: a medicine has %d parts: %s", n, len(medicineFields), strings.Join(medicineFields, " | ")))
				continue
			}
			for len(parts) < len(medicineFields) {
				parts = append(parts, "")
			}
			for j := range parts {
				parts[j] = strings.TrimSpace(parts[j])
			}
			f.Medicines = append(f.Medicines, Medicine{Generic: parts[0], Strength: parts[1], Form: parts[2], Dose: parts[3],
				Frequency: parts[4], Route: parts[5], Duration: parts[6], Instructions: parts[7]})
		case "code":
			if value == "" {
				continue
			}
			sys, code, _ := strings.Cut(value, " ")
			switch strings.ToUpper(strings.ReplaceAll(sys, "-", "")) {
			case "ICD10":
				f.Notes.Diagnosis.System = ICD10
			case "SNOMED", "SCT":
				f.Notes.Diagnosis.System = SNOMED
			default:
				problems = append(problems, fmt.Sprintf("line %d: code %q: write ICD-10 CODE or SNOMED CODE", n, value))
				continue
			}
			f.Notes.Diagnosis.Code = strings.TrimSpace(code)
		default:
			found := false
			for _, fl := range formFields {
				if fl.name == name {
					*fl.get(&f) = value
					found = true
				}
			}
			if !found {
				problems = append(problems, fmt.Sprintf("line %d: no field %q", n, name))
			}
		}
	}
	f.Kind = Kind(strings.ToLower(string(f.Kind)))
	return f, problems
}

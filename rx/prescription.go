package rx

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Notes are the doctor's structured notes of a consultation, beside the
// free text: what the guideline asks a prescription to carry.
type Notes struct {
	// ChiefComplaints are the patient's complaints, in the doctor's words.
	ChiefComplaints string `json:"complaints,omitempty"`
	// History is the relevant history.
	History string `json:"history,omitempty"`
	// Allergies are the patient's known allergies ("none known").
	Allergies string `json:"allergies,omitempty"`
	// Examination is what was found, as reported or seen on video.
	Examination string `json:"examination,omitempty"`
	// Vitals are those the patient reports (temperature, BP, ...).
	Vitals string `json:"vitals,omitempty"`
	// Diagnosis is the diagnosis or provisional diagnosis.
	Diagnosis Diagnosis `json:"diagnosis,omitzero"`
	// Investigations are the tests advised.
	Investigations string `json:"investigations,omitempty"`
	// Advice is the special instructions and advice.
	Advice string `json:"advice,omitempty"`
	// FollowUp is when to come back, YYYY-MM-DD, or "".
	FollowUp string `json:"follow_up,omitempty"`
}

// Diagnosis is a diagnosis in words, with an optional code.
type Diagnosis struct {
	Text string `json:"text"`
	// System is "ICD-10" or "SNOMED" when Code is set.
	System string `json:"system,omitempty"`
	Code   string `json:"code,omitempty"`
}

// The code systems a diagnosis may be coded in.
const (
	ICD10  = "ICD-10"
	SNOMED = "SNOMED"
)

// Medicine is one line of the prescription.
type Medicine struct {
	// Generic is the generic name as typed; shown in capitals.
	Generic string `json:"generic"`
	// Strength ("500 mg"), Form ("tablet"), Dose ("1 tablet"), Frequency
	// ("twice a day", "1-0-1"), Route ("oral"), Duration ("5 days") and
	// Instructions ("after food").
	Strength     string `json:"strength,omitempty"`
	Form         string `json:"form,omitempty"`
	Dose         string `json:"dose"`
	Frequency    string `json:"frequency"`
	Route        string `json:"route,omitempty"`
	Duration     string `json:"duration"`
	Instructions string `json:"instructions,omitempty"`
}

// Name is the medicine's generic name in capitals, as the guideline asks.
func (m Medicine) Name() string { return strings.ToUpper(strings.Join(strings.Fields(m.Generic), " ")) }

// Patient is who the prescription is for.
type Patient struct {
	Name string `json:"name"`
	// Age is as the doctor asked it ("34 years", "8 months").
	Age string `json:"age"`
	Sex string `json:"sex,omitempty"`
	// ABHA is the patient's ABHA address (or number).
	ABHA    string `json:"abha,omitempty"`
	Contact string `json:"contact,omitempty"`
	// Weight, when relevant ("62 kg").
	Weight string `json:"weight,omitempty"`
}

// Prescription is one version of a consultation's prescription: what is
// signed, rendered, and sent.
type Prescription struct {
	// ID names this version; Version counts from 1; Replaces is the ID of
	// the version this one corrects.
	ID       string `json:"id"`
	Version  int    `json:"version"`
	Replaces string `json:"replaces,omitempty"`
	// Consultation is the record's consultation id.
	Consultation string `json:"consultation"`
	// Issued is when it was signed.
	Issued time.Time `json:"issued"`
	// Mode and Kind are the consultation's; KindReason says why the
	// doctor changed the kind from the one the history suggested.
	Mode       Mode   `json:"mode"`
	Kind       Kind   `json:"kind"`
	KindReason string `json:"kind_reason,omitempty"`
	// Doctor is the signing doctor's profile (without the signature
	// image's path, which is theirs alone).
	Doctor    Profile    `json:"doctor"`
	Patient   Patient    `json:"patient"`
	Notes     Notes      `json:"notes"`
	Medicines []Medicine `json:"medicines"`
}

// Footer is the line the guideline puts on every teleconsultation
// prescription.
const Footer = "This prescription is generated on a teleconsultation"

// ValidationError lists every reason a prescription cannot be signed.
type ValidationError struct{ Problems []string }

func (e *ValidationError) Error() string { return "cannot sign: " + strings.Join(e.Problems, "; ") }

var datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Validate checks the prescription against the guideline: the doctor's
// profile complete, the patient's name and age, a diagnosis, and each
// medicine allowed for the consultation's mode and kind. It returns the
// notes for medicines on no list, and a *ValidationError naming every
// problem.
func (p Prescription) Validate(r *Rules) (notes []string, err error) {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if m := p.Doctor.Missing(); len(m) > 0 {
		add("the doctor's profile has no %s (set with teleconsole profile)", strings.Join(m, ", no "))
	}
	if strings.TrimSpace(p.Patient.Name) == "" {
		add("no patient name")
	}
	if strings.TrimSpace(p.Patient.Age) == "" {
		add("no patient age (the guideline asks the doctor to ask it)")
	}
	switch p.Mode {
	case Video, Audio, Text:
	default:
		add("mode %q: want video, audio or text", p.Mode)
	}
	switch p.Kind {
	case First, FollowUp:
	default:
		add("kind %q: want first or follow-up", p.Kind)
	}
	d := p.Notes.Diagnosis
	if strings.TrimSpace(d.Text) == "" {
		add("no diagnosis or provisional diagnosis")
	}
	if d.Code != "" && d.System != ICD10 && d.System != SNOMED {
		add("diagnosis code %q: say whether it is ICD-10 or SNOMED", d.Code)
	}
	if f := p.Notes.FollowUp; f != "" {
		if _, e := time.Parse("2006-01-02", f); e != nil || !datePattern.MatchString(f) {
			add("follow-up %q: want YYYY-MM-DD", f)
		}
	}
	for i, m := range p.Medicines {
		n := i + 1
		if strings.TrimSpace(m.Generic) == "" {
			add("medicine %d has no generic name", n)
			continue
		}
		c := r.Check(m.Generic, p.Mode, p.Kind)
		if !c.Allowed {
			add("medicine %d: %s", n, c.Reason)
		} else if c.Note != "" {
			notes = append(notes, fmt.Sprintf("medicine %d: %s", n, c.Note))
		}
		var missing []string
		for _, f := range []struct{ name, v string }{{"dose", m.Dose}, {"frequency", m.Frequency}, {"duration", m.Duration}} {
			if strings.TrimSpace(f.v) == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			add("medicine %d (%s) has no %s", n, m.Name(), strings.Join(missing, ", no "))
		}
	}
	if len(problems) > 0 {
		return notes, &ValidationError{Problems: problems}
	}
	return notes, nil
}

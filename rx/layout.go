package rx

import (
	"fmt"
	"strings"
	"time"
)

// style is how a line of the rendered prescription looks.
type style int

const (
	styleTitle   style = iota // the doctor's name
	styleSub                  // the doctor's details under it
	styleRule                 // a horizontal line
	styleHeading              // "Rx", a section's title
	styleField                // label: value
	styleItem                 // a medicine
	styleSmall                // the signature's details
)

// line is one paragraph of the rendered prescription, the same in the PDF
// and the PNG. A field's label is bold; the text wraps.
type line struct {
	style       style
	label, text string
}

// ist is the time zone a prescription is dated in: India's.
var ist = time.FixedZone("IST", 5*3600+1800)

// layout is what the prescription shows, in order: the guideline's fields
// (the doctor, the patient, the date, complaints, history, findings, the
// diagnosis, investigations, the medicines by generic name in capitals,
// advice, follow-up, the signature and the footer line).
func layout(s Signed) []line {
	p := s.Prescription
	d := p.Doctor
	var out []line
	add := func(st style, label, text string) { out = append(out, line{st, label, text}) }
	add(styleTitle, "", d.Name)
	add(styleSub, "", d.Qualifications)
	add(styleSub, "", fmt.Sprintf("Reg. No. %s, %s", d.Registration, d.Council))
	if d.HPRID != "" {
		add(styleSub, "", "HPR ID "+d.HPRID)
	}
	where := []string{}
	for _, v := range []string{d.Clinic, d.Address} {
		if v != "" {
			where = append(where, v)
		}
	}
	add(styleSub, "", strings.Join(where, ", "))
	add(styleSub, "", "Phone "+d.Phone)
	add(styleRule, "", "")
	pt := p.Patient
	who := pt.Name + ", " + pt.Age
	if pt.Sex != "" {
		who += ", " + pt.Sex
	}
	add(styleField, "Patient", who)
	for _, f := range [][2]string{{"ABHA", pt.ABHA}, {"Contact", pt.Contact}, {"Weight", pt.Weight}} {
		if f[1] != "" {
			add(styleField, f[0], f[1])
		}
	}
	add(styleField, "Date", p.Issued.In(ist).Format("2 Jan 2006, 15:04 IST"))
	kind := string(p.Kind)
	if p.KindReason != "" {
		kind += " (" + p.KindReason + ")"
	}
	add(styleField, "Consultation", fmt.Sprintf("%s, %s consultation", p.Mode, kind))
	id := fmt.Sprintf("%s, version %d", p.ID, p.Version)
	if p.Replaces != "" {
		id += ", replaces " + p.Replaces
	}
	add(styleField, "Prescription", id)
	add(styleRule, "", "")
	n := p.Notes
	for _, f := range [][2]string{{"Chief complaints", n.ChiefComplaints}, {"History", n.History}, {"Allergies", n.Allergies},
		{"Examination findings", n.Examination}, {"Vitals (reported)", n.Vitals}} {
		if f[1] != "" {
			add(styleField, f[0], f[1])
		}
	}
	dx := n.Diagnosis.Text
	if n.Diagnosis.Code != "" {
		dx += fmt.Sprintf(" (%s %s)", n.Diagnosis.System, n.Diagnosis.Code)
	}
	add(styleField, "Diagnosis / provisional diagnosis", dx)
	if n.Investigations != "" {
		add(styleField, "Investigations advised", n.Investigations)
	}
	add(styleHeading, "", "Rx")
	if len(p.Medicines) == 0 {
		add(styleItem, "", "No medicines.")
	}
	for i, m := range p.Medicines {
		add(styleItem, fmt.Sprintf("%d. %s", i+1, strings.TrimSpace(m.Name()+" "+m.Strength+" "+m.Form)), medicineText(m))
	}
	if n.Advice != "" {
		add(styleField, "Advice", n.Advice)
	}
	if n.FollowUp != "" {
		fu := n.FollowUp
		if t, err := time.Parse("2006-01-02", fu); err == nil {
			fu = t.Format("Monday 2 January 2006")
		}
		add(styleField, "Follow-up", fu)
	}
	add(styleRule, "", "")
	add(styleSmall, "", fmt.Sprintf("Digitally signed by %s (Reg. No. %s) on %s with the key %s.", d.Name, d.Registration,
		p.Issued.In(ist).Format("2 Jan 2006 15:04 IST"), s.KeyID))
	add(styleSmall, "", "SHA-256 "+s.Hash)
	add(styleSmall, "", "The QR code carries the signed prescription: teleconsole verify-rx checks it.")
	add(styleHeading, "", Footer)
	return out
}

// medicineText is a medicine's dose, frequency, route, duration and
// instructions, in a sentence.
func medicineText(m Medicine) string {
	var parts []string
	for _, v := range []string{m.Dose, m.Frequency, m.Route} {
		if v = strings.TrimSpace(v); v != "" {
			parts = append(parts, v)
		}
	}
	s := strings.Join(parts, ", ")
	if d := strings.TrimSpace(m.Duration); d != "" {
		s += ", for " + d
	}
	if in := strings.TrimSpace(m.Instructions); in != "" {
		s += "; " + in
	}
	return s
}

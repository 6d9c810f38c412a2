package rx

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Summary is one consultation as the patient's copy tells it: what the
// guideline asks the doctor to hand over on request (docs/prescription.md).
type Summary struct {
	Doctor  Profile
	Patient Patient
	// Started and Ended bound the consultation; Length is the time the
	// call was connected.
	Started, Ended time.Time
	Length         time.Duration
	Mode           Mode
	EndReason      string
	Notes          Notes
	// FreeNotes are the doctor's notes as typed.
	FreeNotes string
	// Prescriptions are every version signed, oldest first.
	Prescriptions []Signed
	// Messages and Files count the chat's messages and files.
	Messages, Files int
}

// SummaryTitle heads each consultation of the patient's copy.
const SummaryTitle = "Consultation summary"

// SummaryPDF renders the consultations, a page each at least, as the
// patient's copy of their record.
func SummaryPDF(list []Summary) ([]byte, error) {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCreator("teleconsole", true)
	f.SetTitle(SummaryTitle, true)
	f.AddUTF8FontFromBytes("dejavu", "", fontRegular)
	f.AddUTF8FontFromBytes("dejavu", "B", fontBold)
	f.SetMargins(18, 15, 18)
	f.SetAutoPageBreak(true, 15)
	pageW, _ := f.GetPageSize()
	left, _, right, _ := f.GetMargins()
	width := pageW - left - right
	field := func(label, text string) {
		if strings.TrimSpace(text) == "" {
			return
		}
		f.SetFont("dejavu", "B", 10.5)
		f.Write(5.4, label+": ")
		f.SetFont("dejavu", "", 10.5)
		f.Write(5.4, text)
		f.Ln(6)
	}
	if len(list) == 0 {
		f.AddPage()
		f.SetFont("dejavu", "", 11)
		f.MultiCell(width, 6, "No consultations.", "", "L", false)
	}
	for _, s := range list {
		f.AddPage()
		f.SetFont("dejavu", "B", 15)
		f.MultiCell(width, 8, SummaryTitle, "", "L", false)
		f.SetFont("dejavu", "", 9.5)
		d := s.Doctor
		doctor := strings.Join(nonEmptyOf(d.Name, d.Qualifications), ", ")
		if d.Registration != "" {
			doctor += fmt.Sprintf("; Reg. No. %s, %s", d.Registration, d.Council)
		}
		f.MultiCell(width, 4.8, doctor, "", "L", false)
		f.MultiCell(width, 4.8, strings.Join(nonEmptyOf(d.Clinic, d.Address, d.Phone), ", "), "", "L", false)
		f.Ln(1)
		y := f.GetY()
		f.Line(left, y, pageW-right, y)
		f.Ln(2)
		p := s.Patient
		field("Patient", strings.Join(nonEmptyOf(p.Name, p.Age, p.Sex), ", "))
		field("ABHA", p.ABHA)
		when := s.Started.In(ist).Format("2 Jan 2006, 15:04 IST")
		if !s.Ended.IsZero() {
			when += " to " + s.Ended.In(ist).Format("15:04")
		}
		field("Date", when)
		how := fmt.Sprintf("%s teleconsultation", s.Mode)
		if s.Length > 0 {
			how += fmt.Sprintf(", %s connected", s.Length.Round(time.Second))
		}
		if s.EndReason != "" {
			how += ", " + s.EndReason
		}
		field("Consultation", how)
		n := s.Notes
		field("Chief complaints", n.ChiefComplaints)
		field("History", n.History)
		field("Allergies", n.Allergies)
		field("Examination findings", n.Examination)
		field("Vitals (reported)", n.Vitals)
		dx := n.Diagnosis.Text
		if n.Diagnosis.Code != "" {
			dx += fmt.Sprintf(" (%s %s)", n.Diagnosis.System, n.Diagnosis.Code)
		}
		field("Diagnosis / provisional diagnosis", dx)
		field("Investigations advised", n.Investigations)
		field("Advice", n.Advice)
		field("Follow-up", n.FollowUp)
		if len(s.Prescriptions) > 0 {
			cur := s.Prescriptions[len(s.Prescriptions)-1].Prescription
			f.Ln(1)
			f.SetFont("dejavu", "B", 12)
			f.MultiCell(width, 6.5, fmt.Sprintf("Rx (prescription version %d, issued %s)", cur.Version,
				cur.Issued.In(ist).Format("2 Jan 2006 15:04 IST")), "", "L", false)
			for i, m := range cur.Medicines {
				f.SetX(left + 4)
				f.SetFont("dejavu", "B", 10.5)
				f.Write(5.4, fmt.Sprintf("%d. %s", i+1, strings.TrimSpace(m.Name()+" "+m.Strength+" "+m.Form)))
				f.SetFont("dejavu", "", 10.5)
				f.Write(5.4, " - "+medicineText(m))
				f.Ln(6)
			}
			for _, v := range s.Prescriptions {
				state := "current"
				if v.Prescription.ID != cur.ID {
					state = "replaced"
				}
				f.SetFont("dejavu", "", 8)
				f.MultiCell(width, 4, fmt.Sprintf("Version %d (%s), signed %s, SHA-256 %s", v.Prescription.Version, state,
					v.Prescription.Issued.In(ist).Format("2 Jan 2006 15:04 IST"), v.Hash), "", "L", false)
			}
		}
		if strings.TrimSpace(s.FreeNotes) != "" {
			f.Ln(1)
			field("Doctor's notes", s.FreeNotes)
		}
		f.SetFont("dejavu", "", 8)
		f.MultiCell(width, 4, fmt.Sprintf("The consultation's record also keeps %d chat message(s) and %d file(s).", s.Messages, s.Files), "", "L", false)
		f.Ln(2)
		f.SetFont("dejavu", "B", 10)
		f.MultiCell(width, 5, "A copy of the teleconsultation's record, for the patient.", "", "L", false)
	}
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("rx: summary PDF: %w", err)
	}
	var out bytes.Buffer
	if err := f.Output(&out); err != nil {
		return nil, fmt.Errorf("rx: summary PDF: %w", err)
	}
	return out.Bytes(), nil
}

func nonEmptyOf(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

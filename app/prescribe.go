package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"teleconsole/fhir"
	"teleconsole/record"
	"teleconsole/rx"
)

// prescribeTimeout bounds the record's reads and the prescription's write.
const prescribeTimeout = 10 * time.Second

// followUpWithin is how recent a consultation with the same patient makes
// this one a follow-up, as the guideline counts (docs/prescription.md).
const followUpWithin = 183 * 24 * time.Hour

// prescriber is the console's prescription writing: the doctor's profile,
// the guideline's lists and the key that signs.
type prescriber struct {
	profile func() (rx.Profile, error)
	rules   *rx.Rules
	key     rx.Key
}

// ErrNoPrescribing means the console was started without prescriptions.
var ErrNoPrescribing = errors.New("prescriptions are not set up on this console")

// RxForm returns the prescription form for the patient at addr (ui.Prescriber):
// the form last saved for their consultation, else one with their
// consultation's structured notes, the kind from their history, and the
// medicines of the prescription last signed; and the consultation's mode.
func (c *Console) RxForm(addr string) (text string, mode string, err error) {
	if c.rx == nil {
		return "", "", ErrNoPrescribing
	}
	if c.store == nil {
		return "", "", ErrNoRecord
	}
	ctx, cancel := context.WithTimeout(context.Background(), prescribeTimeout)
	defer cancel()
	id := c.consults.of(c.patientFor(addr, nil))
	c.store.Flush() // a consultation begun just now is read below
	m, err := c.rxMode(ctx, addr, id)
	if err != nil {
		return "", "", err
	}
	c.mu.Lock()
	draft, ok := c.rxDrafts[id]
	c.mu.Unlock()
	if ok {
		return draft, string(m), nil
	}
	var f rx.Form
	f.Patient.Sex = c.patientFor(addr, nil).Gender
	if f.Kind, err = c.rxKind(ctx, addr, id); err != nil {
		return "", "", err
	}
	if list, err := c.store.Prescriptions(ctx, id); err != nil {
		return "", "", err
	} else if len(list) > 0 {
		last := list[len(list)-1]
		var p rx.Prescription
		if err := json.Unmarshal(last.Content, &p); err == nil {
			f = rx.Form{Patient: p.Patient, Kind: p.Kind, KindReason: p.KindReason, Notes: p.Notes, Medicines: p.Medicines}
		}
	} else if b, err := c.store.StructuredNotes(ctx, id); err != nil {
		return "", "", err
	} else if b != nil {
		_ = json.Unmarshal(b, &f.Notes)
	}
	return f.Text(), string(m), nil
}

// RxHint says how the form's lines are written (ui.Prescriber).
func (c *Console) RxHint() string {
	return "medicines, " + rx.MedicineHint()
}

// rxKind is the kind of consultation the patient's history suggests: a
// follow-up when they consulted this console within six months, else a
// first consultation.
func (c *Console) rxKind(ctx context.Context, addr, id string) (rx.Kind, error) {
	past, err := c.store.List(ctx, record.Filter{Patient: addr, Limit: 5})
	if err != nil {
		return "", err
	}
	for _, p := range past {
		if p.ID != id && time.Since(p.Started) < followUpWithin {
			return rx.FollowUp, nil
		}
	}
	return rx.First, nil
}

// rxMode is the consultation's mode: video while its call is up, else
// from its record.
func (c *Console) rxMode(ctx context.Context, addr, id string) (rx.Mode, error) {
	if s := c.current(); s != nil && s.Peer() == addr {
		return rx.Video, nil
	}
	d, err := c.store.Get(ctx, id)
	if err != nil {
		return "", err
	}
	return rx.ModeOf(!d.CallStarted.IsZero(), d.Length, d.Quality.AudioOnly), nil
}

// RxSave keeps the form as written for the patient at addr (ui.Prescriber),
// its structured notes in the record, and returns what the guideline says
// of it so far: the problems that would refuse it, and notes.
func (c *Console) RxSave(addr, text string) (problems, notes []string) {
	if c.rx == nil || c.store == nil {
		return []string{ErrNoPrescribing.Error()}, nil
	}
	id := c.consults.of(c.patientFor(addr, nil))
	c.mu.Lock()
	c.rxDrafts[id] = text
	c.mu.Unlock()
	f, problems := rx.ParseForm(text)
	if b, err := json.Marshal(f.Notes); err == nil {
		c.store.SetStructuredNotes(id, b)
	}
	p, err := c.rxPrescription(addr, id, f)
	if err != nil {
		return append(problems, err.Error()), nil
	}
	notes, err = p.Validate(c.rx.rules)
	var ve *rx.ValidationError
	if errors.As(err, &ve) {
		problems = append(problems, ve.Problems...)
	}
	return problems, notes
}

// rxPrescription makes the prescription of a form, for the consultation
// id with the patient at addr: a new version of the last signed, if any.
func (c *Console) rxPrescription(addr, id string, f rx.Form) (rx.Prescription, error) {
	doctor, err := c.rx.profile()
	if err != nil {
		return rx.Prescription{}, err
	}
	c.store.Flush() // the consultation, and its prescriptions, are read below
	ctx, cancel := context.WithTimeout(context.Background(), prescribeTimeout)
	defer cancel()
	mode, err := c.rxMode(ctx, addr, id)
	if err != nil {
		return rx.Prescription{}, err
	}
	wp := c.patientFor(addr, nil)
	d, err := c.store.Get(ctx, id)
	if err != nil {
		return rx.Prescription{}, err
	}
	patient := f.Patient
	patient.Name = nonEmpty(d.Patient.Name, nonEmpty(wp.Name, addr))
	patient.ABHA = addr
	patient.Sex = nonEmpty(patient.Sex, nonEmpty(d.Patient.Gender, wp.Gender))
	suggested, err := c.rxKind(ctx, addr, id)
	if err != nil {
		return rx.Prescription{}, err
	}
	if f.Kind != suggested && (f.Kind == rx.First || f.Kind == rx.FollowUp) && strings.TrimSpace(f.KindReason) == "" {
		return rx.Prescription{}, fmt.Errorf("the history says a %s consultation: write why it is a %s (kind reason:)", suggested, f.Kind)
	}
	p := rx.Prescription{ID: uuid.NewString(), Version: 1, Consultation: id, Mode: mode, Kind: f.Kind, KindReason: f.KindReason,
		Doctor: doctor, Patient: patient, Notes: f.Notes, Medicines: f.Medicines}
	list, err := c.store.Prescriptions(ctx, id)
	if err != nil {
		return p, err
	}
	if len(list) > 0 {
		last := list[len(list)-1]
		p.Version, p.Replaces = last.Version+1, last.ID
	}
	return p, nil
}

func nonEmpty(v, otherwise string) string {
	if strings.TrimSpace(v) != "" {
		return v
	}
	return otherwise
}

// RxSign signs the form for the patient at addr, renders it as a PDF and a
// PNG, keeps all three in the record, and sends both files to the patient
// as chat media (ui.Prescriber). Nothing is kept or sent when the
// prescription is refused: the error says every reason.
func (c *Console) RxSign(addr, text string) (string, error) {
	if c.rx == nil {
		return "", ErrNoPrescribing
	}
	if c.store == nil {
		return "", ErrNoRecord
	}
	if c.rx.key == nil {
		return "", rx.ErrNoKey
	}
	f, problems := rx.ParseForm(text)
	if len(problems) > 0 {
		return "", fmt.Errorf("cannot sign: %s", strings.Join(problems, "; "))
	}
	id := c.consults.of(c.patientFor(addr, nil))
	p, err := c.rxPrescription(addr, id, f)
	if err != nil {
		return "", err
	}
	s, _, err := rx.Sign(p, c.rx.rules, c.rx.key, time.Now())
	if err != nil {
		return "", err
	}
	sig, err := rx.SignatureImage(p.Doctor)
	if err != nil {
		return "", err
	}
	pdf, png, err := rx.Render(s, sig)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), prescribeTimeout)
	defer cancel()
	kept, err := c.store.AddPrescription(ctx, record.Prescription{ID: p.ID, Consultation: id, Version: p.Version, Replaces: p.Replaces,
		Signed: s.Prescription.Issued, SHA256: s.Hash, Content: s.Content, Signature: s.Signature, KeyID: s.KeyID, PublicKey: s.PublicKey}, pdf, png)
	if err != nil {
		return "", fmt.Errorf("the prescription was not kept, so not sent: %w", err)
	}
	c.mu.Lock()
	delete(c.rxDrafts, id)
	c.mu.Unlock()
	stem := fmt.Sprintf("prescription-v%d", p.Version)
	// The image (the reference app shows it) and the PDF beside it; each
	// is sent in the background, its delivery kept on the chat.
	if err := c.sendMedia(addr, stem+".png", png, kept.PNG); err != nil {
		return "", err
	}
	if err := c.sendMedia(addr, stem+".pdf", pdf, kept.PDF); err != nil {
		return "", err
	}
	what := fmt.Sprintf("prescription v%d signed (sha256 %s…), sent as PNG and PDF", p.Version, s.Hash[:12])
	if p.Replaces != "" {
		what += ", replacing v" + fmt.Sprint(p.Version-1)
	}
	return what, nil
}

// PatientCopy writes the patient's copy of a past consultation (ui.Copier)
// among its files, and returns where.
func (c *Console) PatientCopy(id string) (string, error) {
	if c.store == nil {
		return "", ErrNoRecord
	}
	if c.rx == nil {
		return "", ErrNoPrescribing
	}
	doctor, err := c.rx.profile()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), prescribeTimeout)
	defer cancel()
	s, err := fhir.Summarize(ctx, c.store, doctor, id)
	if err != nil {
		return "", err
	}
	b, err := rx.SummaryPDF([]rx.Summary{s})
	if err != nil {
		return "", err
	}
	f := c.store.AddFile(record.File{Consultation: id, At: time.Now(), Direction: record.Out, Kind: "summary",
		Name: "consultation-summary.pdf", MimeType: "application/pdf"}, b)
	c.store.Flush()
	if _, err := os.Stat(f.Path); err != nil {
		return "", fmt.Errorf("the patient's copy was not kept: %w", err)
	}
	return f.Path, nil
}

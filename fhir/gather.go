package fhir

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"teleconsole/record"
	"teleconsole/rx"
)

// Gather reads one consultation from the record as Input: its record, its
// structured notes and the current version of its prescription, for the
// doctor of the profile given.
func Gather(ctx context.Context, store *record.Store, doctor rx.Profile, id string) (Input, error) {
	in, _, err := gather(ctx, store, doctor, id)
	return in, err
}

func gather(ctx context.Context, store *record.Store, doctor rx.Profile, id string) (Input, []rx.Signed, error) {
	d, err := store.Get(ctx, id)
	if err != nil {
		return Input{}, nil, err
	}
	in := Input{Consultation: d, Doctor: doctor,
		Mode:    rx.ModeOf(!d.CallStarted.IsZero(), d.Length, d.Quality.AudioOnly),
		Patient: rx.Patient{Name: d.Patient.Name, Sex: d.Patient.Gender, ABHA: d.Patient.Address}}
	notes, err := store.StructuredNotes(ctx, id)
	if err != nil {
		return in, nil, err
	}
	if notes != nil {
		if err := json.Unmarshal(notes, &in.Notes); err != nil {
			return in, nil, fmt.Errorf("structured notes: %w", err)
		}
	}
	list, err := store.Prescriptions(ctx, id)
	if err != nil || len(list) == 0 {
		return in, nil, err
	}
	var versions []rx.Signed
	for _, k := range list {
		s, err := rx.Open(k.Content, k.Signature, k.KeyID, k.PublicKey)
		if err != nil {
			return in, nil, fmt.Errorf("prescription %s: %w", k.ID, err)
		}
		versions = append(versions, s)
	}
	cur := versions[len(versions)-1]
	in.Prescription = &cur
	p := cur.Prescription
	// The prescription is what the doctor signed: its doctor, patient,
	// notes and mode are the consultation's.
	in.Doctor, in.Patient, in.Notes, in.Mode = p.Doctor, p.Patient, p.Notes, p.Mode
	if in.PrescriptionPDF, err = os.ReadFile(list[len(list)-1].PDF); err != nil {
		return in, nil, fmt.Errorf("prescription %s: %w", p.ID, err)
	}
	return in, versions, nil
}

// Summarize reads one consultation from the record as the patient's copy
// tells it (rx.SummaryPDF).
func Summarize(ctx context.Context, store *record.Store, doctor rx.Profile, id string) (rx.Summary, error) {
	in, versions, err := gather(ctx, store, doctor, id)
	if err != nil {
		return rx.Summary{}, err
	}
	c := in.Consultation
	return rx.Summary{Doctor: in.Doctor, Patient: in.Patient, Started: c.Started, Ended: c.Ended, Length: c.Length, Mode: in.Mode,
		EndReason: c.EndReason, Notes: in.Notes, FreeNotes: c.Notes, Prescriptions: versions, Messages: c.Messages, Files: c.Files}, nil
}

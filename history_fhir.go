package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"teleconsole/fhir"
	"teleconsole/record"
	"teleconsole/rx"
)

// writeFHIR writes each consultation's ABDM documents, one FHIR bundle a
// line (NDJSON): its OPConsultRecord, then its PrescriptionRecord when it
// has a prescription. Every bundle is checked against the profile rules
// first: none is written that breaks them.
func writeFHIR(ctx context.Context, store *record.Store, dataDir string, list []record.Consultation, stdout io.Writer) error {
	doctor, err := rx.LoadProfile(filepath.Join(dataDir, rx.ProfileFile))
	if err != nil {
		return err
	}
	for _, c := range list {
		in, err := fhirInput(ctx, store, doctor, c.ID)
		if err != nil {
			return fmt.Errorf("consultation %s: %w", c.ID, err)
		}
		docs, err := fhir.Bundles(in)
		if err != nil {
			return fmt.Errorf("consultation %s: %w", c.ID, err)
		}
		for _, d := range docs {
			if problems := fhir.CheckProfile(d); len(problems) > 0 {
				return fmt.Errorf("consultation %s: its record breaks the ABDM profile: %s", c.ID, strings.Join(problems, "; "))
			}
			if _, err := stdout.Write(append(d, '\n')); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeSummary writes the patient's copy of the consultations, one PDF.
func writeSummary(ctx context.Context, store *record.Store, dataDir string, list []record.Consultation, stdout io.Writer) error {
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return errors.New("--format pdf writes a PDF: send it to a file (teleconsole history --format pdf > summary.pdf)")
		}
	}
	doctor, err := rx.LoadProfile(filepath.Join(dataDir, rx.ProfileFile))
	if err != nil {
		return err
	}
	var out []rx.Summary
	for _, c := range list {
		in, err := fhirInput(ctx, store, doctor, c.ID)
		if err != nil {
			return fmt.Errorf("consultation %s: %w", c.ID, err)
		}
		s := rx.Summary{Doctor: in.Doctor, Patient: in.Patient, Started: c.Started, Ended: c.Ended, Length: c.Length, Mode: in.Mode,
			EndReason: c.EndReason, Notes: in.Notes, FreeNotes: in.Consultation.Notes, Messages: c.Messages, Files: c.Files}
		kept, err := store.Prescriptions(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, k := range kept {
			signed, err := rx.Open(k.Content, k.Signature, k.KeyID, k.PublicKey)
			if err != nil {
				return fmt.Errorf("prescription %s: %w", k.ID, err)
			}
			s.Prescriptions = append(s.Prescriptions, signed)
		}
		out = append(out, s)
	}
	b, err := rx.SummaryPDF(out)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

// fhirInput gathers one consultation's record, structured notes and
// current prescription.
func fhirInput(ctx context.Context, store *record.Store, doctor rx.Profile, id string) (fhir.Input, error) {
	d, err := store.Get(ctx, id)
	if err != nil {
		return fhir.Input{}, err
	}
	in := fhir.Input{Consultation: d, Doctor: doctor,
		Mode:    rx.ModeOf(!d.CallStarted.IsZero(), d.Length, d.Quality.AudioOnly),
		Patient: rx.Patient{Name: d.Patient.Name, Sex: d.Patient.Gender, ABHA: d.Patient.Address}}
	notes, err := store.StructuredNotes(ctx, id)
	if err != nil {
		return in, err
	}
	if notes != nil {
		if err := json.Unmarshal(notes, &in.Notes); err != nil {
			return in, fmt.Errorf("structured notes: %w", err)
		}
	}
	list, err := store.Prescriptions(ctx, id)
	if err != nil || len(list) == 0 {
		return in, err
	}
	cur := list[len(list)-1]
	s, err := rx.Open(cur.Content, cur.Signature, cur.KeyID, cur.PublicKey)
	if err != nil {
		return in, fmt.Errorf("prescription %s: %w", cur.ID, err)
	}
	in.Prescription = &s
	p := s.Prescription
	// The prescription is what the doctor signed: its doctor, patient,
	// notes and mode are the consultation's.
	in.Doctor, in.Patient, in.Notes, in.Mode = p.Doctor, p.Patient, p.Notes, p.Mode
	if in.PrescriptionPDF, err = os.ReadFile(cur.PDF); err != nil {
		return in, fmt.Errorf("prescription %s: %w", cur.ID, err)
	}
	return in, nil
}

package main

import (
	"context"
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
		in, err := fhir.Gather(ctx, store, doctor, c.ID)
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
		sum, err := fhir.Summarize(ctx, store, doctor, c.ID)
		if err != nil {
			return fmt.Errorf("consultation %s: %w", c.ID, err)
		}
		out = append(out, sum)
	}
	b, err := rx.SummaryPDF(out)
	if err != nil {
		return err
	}
	_, err = stdout.Write(b)
	return err
}

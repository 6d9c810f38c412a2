package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"teleconsole/record"
	"teleconsole/rx"
	"teleconsole/uhiclient"
)

// maxRxFile bounds the file verify-rx reads.
const maxRxFile = 32 << 20

// runVerifyRx reads the QR code of a prescription's PDF or image and says
// whether it is genuine, by whom, and whether it was replaced. It exits 0
// when genuine, 1 when not (or unreadable), 2 on a bad command line.
func runVerifyRx(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole verify-rx", "usage: teleconsole verify-rx [--public-key B64] [--data-dir DIR] FILE\n\n"+
		"Reads the QR code of a prescription (PDF, PNG or JPEG) and checks its signature: the\n"+
		"prescription as the doctor signed it, by the key it names. --public-key checks that\n"+
		"key is the doctor's (the UHI registry's key for the key id shown); with --data-dir,\n"+
		"the doctor's record says whether a later version replaced it.", stderr)
	publicKey := fs.String("public-key", "", "the doctor's UHI public key (base64 SPKI) the signature must be by")
	var d dataFlags
	d.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "teleconsole verify-rx: want one FILE, got %d argument(s)\n", fs.NArg())
		fs.Usage()
		return 2
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return fail(stderr, err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxRxFile+1))
	f.Close()
	if err != nil {
		return fail(stderr, err)
	}
	if len(data) > maxRxFile {
		return fail(stderr, fmt.Errorf("%s: over %d MiB", path, maxRxFile>>20))
	}
	text, err := rx.ReadFile(data)
	if err != nil {
		fmt.Fprintf(stdout, "NOT VERIFIED: %s: %v\n", filepath.Base(path), err)
		return 1
	}
	s, err := rx.ParseQR(text)
	if err != nil {
		fmt.Fprintf(stdout, "NOT GENUINE: %s: %v\n", filepath.Base(path), err)
		return 1
	}
	if *publicKey != "" {
		want, err := uhiclient.ParsePublicKey(*publicKey)
		if err != nil {
			fmt.Fprintf(stderr, "teleconsole verify-rx: --public-key: %v\n", err)
			return 2
		}
		if !want.Equal(s.PublicKey) {
			fmt.Fprintf(stdout, "NOT GENUINE: %s: signed by a key other than the one given (key id %s)\n", filepath.Base(path), s.KeyID)
			return 1
		}
	}
	replaced := "unknown: the doctor's record (--data-dir) says whether a later version replaced it"
	if d.dataDir != "" {
		store, err := d.openStore(record.Shared())
		if err != nil {
			return fail(stderr, err)
		}
		kept, by, err := store.PrescriptionByID(ctx, s.Prescription.ID)
		store.Close()
		switch {
		case errors.Is(err, record.ErrNoPrescription):
			replaced = "unknown: not in this record"
		case err != nil:
			return fail(stderr, err)
		case kept.SHA256 != s.Hash:
			fmt.Fprintf(stdout, "NOT GENUINE: %s: the record keeps another content for prescription %s\n", filepath.Base(path), s.Prescription.ID)
			return 1
		case by != "":
			replaced = "yes, by " + by + ": use that version"
		default:
			replaced = "no"
		}
	}
	p := s.Prescription
	pub, _ := uhiclient.EncodePublicKey(s.PublicKey)
	fmt.Fprintf(stdout, "GENUINE: the signature matches the prescription\n")
	fmt.Fprintf(stdout, "doctor:       %s, %s; Reg. No. %s, %s\n", p.Doctor.Name, p.Doctor.Qualifications, p.Doctor.Registration, p.Doctor.Council)
	keyNote := "(not checked against the registry: give --public-key)"
	if *publicKey != "" {
		keyNote = "(the key given)"
	}
	fmt.Fprintf(stdout, "signed by:    key %s %s\n              %s\n", s.KeyID, keyNote, pub)
	fmt.Fprintf(stdout, "issued:       %s\n", p.Issued.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(stdout, "patient:      %s, %s\n", p.Patient.Name, p.Patient.Age)
	version := fmt.Sprintf("%s, version %d", p.ID, p.Version)
	if p.Replaces != "" {
		version += ", replacing " + p.Replaces
	}
	fmt.Fprintf(stdout, "prescription: %s\n", version)
	fmt.Fprintf(stdout, "diagnosis:    %s\n", p.Notes.Diagnosis.Text)
	for i, m := range p.Medicines {
		fmt.Fprintf(stdout, "  %d. %s\n", i+1, strings.TrimSpace(strings.Join(strings.Fields(m.Name()+" "+m.Strength+" "+m.Form+": "+m.Dose+", "+m.Frequency+", "+m.Duration), " ")))
	}
	fmt.Fprintf(stdout, "replaced:     %s\n", replaced)
	fmt.Fprintf(stdout, "sha256:       %s\n", s.Hash)
	return 0
}

package main

import (
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"teleconsole/record"
	"teleconsole/rx"
)

// runProfile shows the doctor's profile, or sets the fields given.
func runProfile(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("teleconsole profile", "usage: teleconsole profile [--data-dir DIR] [--FIELD VALUE ...]\n\n"+
		"Shows the doctor's profile, which every prescription carries; with flags, sets those\n"+
		"fields first (an empty value clears one). A prescription is signed only when name,\n"+
		"qualifications, council, registration number, address and phone are set.", stderr)
	var d dataFlags
	d.register(fs)
	var p rx.Profile
	fields := rx.ProfileFields()
	for _, f := range fields {
		fs.StringVar(f.Value(&p), f.Flag, "", "the doctor's "+f.Label)
	}
	// Only the data directory comes from the environment: a profile
	// field set by a stray TELECONSOLE_NAME would be a surprise.
	lookup := func(name string) (string, bool) {
		if name == envName("data-dir") {
			return osLookup(name)
		}
		return "", false
	}
	if code, done := parseCommand(fs, args, lookup); done {
		return code
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	dir, err := d.dir()
	if err != nil {
		return fail(stderr, err)
	}
	path := filepath.Join(dir, rx.ProfileFile)
	kept, err := rx.LoadProfile(path)
	if err != nil {
		return fail(stderr, err)
	}
	changed := false
	for _, f := range fields {
		if given[f.Flag] {
			*f.Value(&kept) = *f.Value(&p)
			changed = true
		}
	}
	if changed {
		if kept.SignatureImage != "" {
			abs, err := checkSignatureImage(kept.SignatureImage)
			if err != nil {
				return keyUsage(fs, stderr, err.Error())
			}
			kept.SignatureImage = abs
		}
		if err := record.MkdirPrivate(dir); err != nil {
			return fail(stderr, err)
		}
		if err := rx.SaveProfile(path, kept); err != nil {
			return fail(stderr, err)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, f := range fields {
		v := *f.Value(&kept)
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\n", f.Label, v)
	}
	if err := tw.Flush(); err != nil {
		return fail(stderr, err)
	}
	if m := kept.Missing(); len(m) > 0 {
		fmt.Fprintf(stdout, "\nnot ready to sign prescriptions: no %s\n", strings.Join(m, ", no "))
	}
	return 0
}

// checkSignatureImage returns the absolute path of a signature image that
// decodes as a PNG.
func checkSignatureImage(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	f, err := os.Open(abs)
	if err != nil {
		return "", fmt.Errorf("--signature-image: %w", err)
	}
	defer f.Close()
	if _, err := png.DecodeConfig(f); err != nil {
		return "", fmt.Errorf("--signature-image %s: not a PNG: %w", path, err)
	}
	return abs, nil
}

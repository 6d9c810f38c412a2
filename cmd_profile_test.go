package main

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"teleconsole/rx"
)

func TestProfileCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	empty := runMain(t, "profile", "--data-dir", dir)
	if empty.code != 0 || !strings.Contains(empty.stdout, "not ready to sign prescriptions: no name, no qualifications, no medical council, no registration number, no address, no phone") {
		t.Fatalf("empty profile: %+v", empty)
	}
	set := runMain(t, "profile", "--data-dir", dir, "--name", "Dr. Ananya Rao", "--qualifications", "MBBS, MD",
		"--council", "Karnataka Medical Council", "--address", "12 MG Road, Bengaluru", "--phone", "+91 80 1234 5678")
	if set.code != 0 || !strings.Contains(set.stdout, "Dr. Ananya Rao") || !strings.Contains(set.stdout, "no registration number\n") {
		t.Fatalf("set without registration: %+v", set)
	}
	// A second call sets one field and keeps the others.
	reg := runMain(t, "profile", "--data-dir", dir, "--registration", " KMC-45678 ")
	if reg.code != 0 || strings.Contains(reg.stdout, "not ready") || !strings.Contains(reg.stdout, "MBBS, MD") {
		t.Fatalf("set registration: %+v", reg)
	}
	p, err := rx.LoadProfile(filepath.Join(dir, rx.ProfileFile))
	if err != nil || p.Registration != "KMC-45678" || p.Name != "Dr. Ananya Rao" || p.CheckComplete() != nil {
		t.Fatalf("kept profile %+v, %v", p, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, rx.ProfileFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("profile file mode: %v, %v", fi, err)
	}
	// An empty value clears a field.
	if clr := runMain(t, "profile", "--data-dir", dir, "--phone", ""); !strings.Contains(clr.stdout, "not ready to sign prescriptions: no phone") {
		t.Errorf("clear phone: %+v", clr)
	}
	// A signature image must be a PNG; a bad one changes nothing.
	notPNG := filepath.Join(t.TempDir(), "sig.png")
	if err := os.WriteFile(notPNG, []byte("GIF89a"), 0o600); err != nil {
		t.Fatal(err)
	}
	if bad := runMain(t, "profile", "--data-dir", dir, "--signature-image", notPNG, "--name", "X"); bad.code != 2 || !strings.Contains(bad.stderr, "not a PNG") {
		t.Errorf("bad signature image: %+v", bad)
	}
	if p, _ := rx.LoadProfile(filepath.Join(dir, rx.ProfileFile)); p.Name != "Dr. Ananya Rao" || p.SignatureImage != "" {
		t.Errorf("a refused change was kept: %+v", p)
	}
	good := filepath.Join(t.TempDir(), "sig.png")
	f, _ := os.Create(good)
	_ = png.Encode(f, image.NewGray(image.Rect(0, 0, 40, 10)))
	f.Close()
	if ok := runMain(t, "profile", "--data-dir", dir, "--signature-image", good); ok.code != 0 || !strings.Contains(ok.stdout, good) {
		t.Errorf("signature image: %+v", ok)
	}
	// A profile field is never taken from the environment.
	t.Setenv("TELECONSOLE_NAME", "Mallory")
	if r := runMain(t, "profile", "--data-dir", dir); strings.Contains(r.stdout, "Mallory") {
		t.Errorf("TELECONSOLE_NAME set the name: %s", r.stdout)
	}
}

func TestProfileCheckComplete(t *testing.T) {
	err := rx.Profile{Name: "A", Qualifications: "MBBS", Council: "NMC", Address: "x", Phone: "1"}.CheckComplete()
	if err == nil || !strings.Contains(err.Error(), "no registration number") || !strings.Contains(err.Error(), "teleconsole profile") {
		t.Fatalf("no registration: %v", err)
	}
}

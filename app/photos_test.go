package app

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"teleconsole/simpatient"
	"teleconsole/waitingroom"
)

// bigPhoto is a JPEG of w by h pixels of noise (which compresses badly,
// like a camera's photo) over four coloured quadrants, as base64: of
// w=h=1400 some 1.4 MB, the size the reference app sends.
func bigPhoto(t testing.TB, w, h int) string {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			base := [3]int{200, 40, 40}
			if x >= w/2 {
				base = [3]int{40, 180, 60}
			}
			n := r.IntN(40) - 20
			img.SetRGBA(x, y, color.RGBA{uint8(base[0] + n), uint8(base[1] + n), uint8(base[2] + n), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// TestReadyPhotoKept: the photo of a READY of more than a megabyte is
// taken as it arrives, read off the hot path and kept small; the READY is
// ACKed as any other; a photo that is not a picture is reported, the READY
// still ACKed; a READY with none says so.
func TestReadyPhotoKept(t *testing.T) {
	r := newRig(t)
	photo := bigPhoto(t, 1400, 1400)
	if len(photo) < 1<<20 {
		t.Fatalf("the test photo is only %d bytes", len(photo))
	}
	_, asha := r.addPatient(simpatient.Config{Name: "Asha Rao", Address: "asha@sbx", Image: photo})
	_, ravi := r.addPatient(simpatient.Config{Name: "Ravi", Address: "ravi@sbx", Image: base64.StdEncoding.EncodeToString([]byte("not a picture at all"))})
	_, meera := r.addPatient(simpatient.Config{Name: "Meera", Address: "meera@sbx"})
	for _, ev := range []<-chan simpatient.Event{asha, ravi, meera} {
		waitPatientEvent(t, ev, simpatient.EventAcked, 5*time.Second)
	}
	r.waitPatient("asha@sbx", waitingroom.StateWaiting, time.Second)
	// Read off the hot path: the ACKs above did not wait for it.
	waitPhotoRead(t, r, "asha@sbx")

	img, err := r.console.PatientPhoto("asha@sbx")
	if err != nil {
		t.Fatalf("PatientPhoto: %v", err)
	}
	if b := img.Bounds(); b.Dx() != photoMaxW || b.Dy() != photoMaxH {
		t.Errorf("photo kept at %v, want %dx%d", b, photoMaxW, photoMaxH)
	}
	if cr, cg, _, _ := img.At(100, 300).RGBA(); cr>>8 < 150 || cg>>8 > 90 {
		t.Errorf("the left of the photo is %d,%d, want red", cr>>8, cg>>8)
	}
	if cr, cg, _, _ := img.At(540, 300).RGBA(); cg>>8 < 130 || cr>>8 > 90 {
		t.Errorf("the right of the photo is %d,%d, want green", cr>>8, cg>>8)
	}
	if n := r.console.PhotoNote("asha@sbx"); n != "photo" {
		t.Errorf("asha's note %q", n)
	}
	r.console.photos.mu.Lock()
	kept := len(r.console.photos.entries["asha@sbx"].jpeg)
	r.console.photos.mu.Unlock()
	if kept > 200<<10 {
		t.Errorf("%d bytes kept of a photo", kept)
	}

	waitPhotoRead(t, r, "ravi@sbx")
	if _, err := r.console.PatientPhoto("ravi@sbx"); err == nil || !strings.Contains(err.Error(), "photo unreadable") {
		t.Errorf("ravi's photo: %v, want it reported unreadable", err)
	}
	if n := r.console.PhotoNote("ravi@sbx"); n != "photo unreadable" {
		t.Errorf("ravi's note %q", n)
	}
	if _, err := r.console.PatientPhoto("meera@sbx"); !errors.Is(err, ErrNoPhoto) {
		t.Errorf("meera's photo: %v, want ErrNoPhoto", err)
	}
	if n := r.console.PhotoNote("meera@sbx"); n != "no photo" {
		t.Errorf("meera's note %q", n)
	}
}

// waitPhotoRead waits until addr's photo is no longer being read: under
// the race detector, with other tests running, decoding one of 1.4 MB
// takes seconds (136 ms without, BenchmarkReadPhoto's figure on this
// 2-core machine, busy).
func waitPhotoRead(t *testing.T, r *rig, addr string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); r.console.PhotoNote(addr) == "reading photo"; {
		if time.Now().After(deadline) {
			t.Fatalf("%s's photo is still being read after 30 s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPhotosBounded: photos waiting to be read are bounded in bytes (one
// over is reported, not dropped silently), a READY sent again with the
// same photo is not read again, and the entries kept are at most max.
func TestPhotosBounded(t *testing.T) {
	p := newPhotos(slog.New(slog.DiscardHandler), 3, ErrNoPhoto)
	now := time.Now()
	small := bigPhoto(t, 40, 40)
	huge := strings.Repeat("A", photoPendingMax-len(small)+1)
	p.offer("a@sbx", small, now)
	p.offer("b@sbx", huge, now)
	if p.note("b@sbx") != "photo unreadable" || p.bytes != len(small) {
		t.Fatalf("over the bound: note %q, %d bytes pending", p.note("b@sbx"), p.bytes)
	}
	if _, err := p.photo("b@sbx"); err == nil || !strings.Contains(err.Error(), "too many photos") {
		t.Errorf("b's photo: %v", err)
	}
	for p.readOne() {
	}
	p.mu.Lock()
	first := p.entries["a@sbx"].jpeg
	p.mu.Unlock()
	if first == nil {
		t.Fatal("a's photo not read")
	}
	p.offer("a@sbx", small, now.Add(time.Second))
	for p.readOne() {
	}
	p.mu.Lock()
	again := p.entries["a@sbx"].jpeg
	p.mu.Unlock()
	if &again[0] != &first[0] {
		t.Error("the same photo was read again")
	}
	for i, addr := range []string{"c@sbx", "d@sbx", "e@sbx"} {
		p.offer(addr, small, now.Add(time.Duration(2+i)*time.Second))
		for p.readOne() {
		}
	}
	if len(p.entries) != 3 || p.entries["a@sbx"] != nil || p.entries["e@sbx"] == nil {
		t.Errorf("entries %d kept; a's still there: %v", len(p.entries), p.entries["a@sbx"] != nil)
	}
}

// BenchmarkReadPhoto is the reading of a 1.4 MB photo from a READY, off the
// hot path: decoded, fitted to 640x640, encoded as JPEG.
func BenchmarkReadPhoto(b *testing.B) {
	photo := bigPhoto(b, 1400, 1400)
	b.SetBytes(int64(len(photo)))
	for b.Loop() {
		if _, err := readPhoto(photo); err != nil {
			b.Fatal(err)
		}
	}
}

package rx

import (
	"bytes"
	"compress/zlib"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
)

func signedTest(t testing.TB) Signed {
	t.Helper()
	s, err := signedTestValue()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signedTestValue() (Signed, error) {
	r, err := DefaultRules()
	if err != nil {
		return Signed{}, err
	}
	p := testPrescription()
	p.Doctor.Name = "Dr. Ananya Rao-Śarmā"
	s, _, err := Sign(p, r, Ed25519Key{Private: testKey(), ID: "hspa-nha|k1"}, time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC))
	return s, err
}

// testSignature is a signature image: a stroke on white.
func testSignature() []byte {
	sig := image.NewGray(image.Rect(0, 0, 300, 80))
	for i := range sig.Pix {
		sig.Pix[i] = 255
	}
	for x := 20; x < 280; x++ {
		sig.Pix[(40+x%9)*300+x] = 0
	}
	var b bytes.Buffer
	_ = png.Encode(&b, sig)
	return b.Bytes()
}

// rendered are the test prescription's files, rendered once for the tests
// that read them (rendering is slow under -race).
var rendered = sync.OnceValues(func() (files [2][]byte, err error) {
	s, err := signedTestValue()
	if err != nil {
		return files, err
	}
	files[0], files[1], err = Render(s, testSignature())
	return files, err
})

func renderedFiles(t *testing.T) (pdf, png []byte) {
	t.Helper()
	files, err := rendered()
	if err != nil {
		t.Fatal(err)
	}
	return files[0], files[1]
}

// pdfText is the text a PDF of ours shows: its page content streams
// inflated, and every string shown (Tj, TJ) read as UTF-16BE, the codes of
// fpdf's Unicode fonts (whose CIDs are the code points). It is our own
// reader because the Go PDF readers at hand take fpdf's one ToUnicode range
// for single bytes, and no other reader is on the machine.
func pdfText(t *testing.T, b []byte) string {
	t.Helper()
	streams := regexp.MustCompile(`(?s)<</Filter /FlateDecode /Length (\d+)>>\nstream\n`).FindAllSubmatchIndex(b, -1)
	var out strings.Builder
	for _, m := range streams {
		n, _ := strconv.Atoi(string(b[m[2]:m[3]]))
		zr, err := zlib.NewReader(bytes.NewReader(b[m[1] : m[1]+n]))
		if err != nil {
			continue
		}
		content, err := io.ReadAll(zr)
		if err != nil || !bytes.Contains(content, []byte("Tj")) {
			continue
		}
		for _, lit := range pdfStrings(content) {
			u := make([]uint16, 0, len(lit)/2)
			for i := 0; i+1 < len(lit); i += 2 {
				u = append(u, uint16(lit[i])<<8|uint16(lit[i+1]))
			}
			out.WriteString(string(utf16.Decode(u)))
		}
	}
	return out.String()
}

// pdfStrings are the literal strings of a content stream, unescaped.
func pdfStrings(c []byte) [][]byte {
	var out [][]byte
	for i := 0; i < len(c); i++ {
		if c[i] != '(' {
			continue
		}
		var s []byte
		for i++; i < len(c) && c[i] != ')'; i++ {
			if c[i] != '\\' || i+1 >= len(c) {
				s = append(s, c[i])
				continue
			}
			i++
			switch e := c[i]; {
			case e == 'n':
				s = append(s, '\n')
			case e == 'r':
				s = append(s, '\r')
			case e == 't':
				s = append(s, '\t')
			case e >= '0' && e <= '7':
				v := 0
				for k := 0; k < 3 && i < len(c) && c[i] >= '0' && c[i] <= '7'; k++ {
					v = v*8 + int(c[i]-'0')
					i++
				}
				i--
				s = append(s, byte(v))
			default:
				s = append(s, e)
			}
		}
		out = append(out, s)
	}
	return out
}

// squeeze drops white space, which a PDF breaks lines at.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

// requiredText is what the guideline asks every prescription to show.
var requiredText = []string{
	"Dr. Ananya Rao-Śarmā", "MBBS, MD (Medicine)", "Reg. No. KMC-45678, Karnataka Medical Council", "12 MG Road, Bengaluru",
	"+91 80 4123 4567", "Asha Kumari, 34 years, female", "asha@sbx", "7 Dec 2026, 10:30 IST", "video, first consultation",
	"Fever and sore throat", "No chronic illness", "None known", "Throat red on video", "38.4 °C", "Acute pharyngitis (ICD-10 J02.9)",
	"CBC if fever", "PARACETAMOL 500 mg tablet", "three times a day", "for 3 days", "after food", "CETIRIZINE 10 mg tablet",
	"₹300", "Thursday 10 December 2026", Footer,
}

func TestPDFShowsEveryRequiredField(t *testing.T) {
	b, _ := renderedFiles(t)
	text := squeeze(pdfText(t, b))
	for _, want := range requiredText {
		if !strings.Contains(text, squeeze(want)) {
			t.Errorf("the PDF's text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("text: %s", text)
	}
	if os.Getenv("RX_KEEP") != "" {
		_ = os.WriteFile(filepath.Join(os.Getenv("RX_KEEP"), "rx.pdf"), b, 0o644)
	}
}

func TestPNGReadableSize(t *testing.T) {
	_, b := renderedFiles(t)
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	// A4's width at 150 dpi, text of 22 px: readable on a phone.
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != 1240 || h < 1200 || h > 3000 {
		t.Errorf("PNG %dx%d", w, h)
	}
	if os.Getenv("RX_KEEP") != "" {
		_ = os.WriteFile(filepath.Join(os.Getenv("RX_KEEP"), "rx.png"), b, 0o644)
	}
}

// TestFilesQRRoundTrip reads the QR code back from the PDF and the PNG.
func TestFilesQRRoundTrip(t *testing.T) {
	s := signedTest(t)
	pdfB, pngB := renderedFiles(t)
	for name, b := range map[string][]byte{"pdf": pdfB, "png": pngB} {
		text, err := ReadFile(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := ParseQR(text)
		if err != nil || got.Hash != s.Hash || got.Prescription.Doctor.Name != "Dr. Ananya Rao-Śarmā" {
			t.Errorf("%s: %+v, %v", name, got.Prescription.Doctor, err)
		}
	}
}

func TestReadFileRefusesWhatHasNoQR(t *testing.T) {
	var blank bytes.Buffer
	_ = png.Encode(&blank, image.NewGray(image.Rect(0, 0, 400, 400)))
	for name, b := range map[string][]byte{"blank png": blank.Bytes(), "text": []byte("hello"), "pdf without images": []byte("%PDF-1.4\n%%EOF\n")} {
		if _, err := ReadFile(b); !errors.Is(err, ErrNoQR) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestSummaryPDF(t *testing.T) {
	s := signedTest(t)
	v2 := s
	v2.Prescription.Version, v2.Prescription.ID, v2.Hash = 2, "v2-id", strings.Repeat("b", 64)
	list := []Summary{
		{Doctor: s.Prescription.Doctor, Patient: s.Prescription.Patient, Started: s.Prescription.Issued.Add(-20 * time.Minute),
			Ended: s.Prescription.Issued, Length: 14*time.Minute + 3*time.Second, Mode: Video, EndReason: "ended by doctor",
			Notes: s.Prescription.Notes, FreeNotes: "Reassured.", Prescriptions: []Signed{s, v2}, Messages: 4, Files: 3},
		{Patient: Patient{Name: "Asha Kumari", ABHA: "asha@sbx"}, Started: s.Prescription.Issued.Add(-48 * time.Hour), Mode: Text},
	}
	b, err := SummaryPDF(list)
	if err != nil {
		t.Fatal(err)
	}
	text := squeeze(pdfText(t, b))
	for _, want := range []string{SummaryTitle, "Dr. Ananya Rao-Śarmā, MBBS, MD (Medicine); Reg. No. KMC-45678", "Asha Kumari, 34 years, female",
		"7 Dec 2026, 10:10 IST to 10:30", "video teleconsultation, 14m3s connected, ended by doctor", "Acute pharyngitis (ICD-10 J02.9)",
		"Rx (prescription version 2", "PARACETAMOL 500 mg tablet", "Version 1 (replaced)", "Version 2 (current)", "Reassured.",
		"4 chat message(s) and 3 file(s)", "text teleconsultation", "5 Dec 2026"} {
		if !strings.Contains(text, squeeze(want)) {
			t.Errorf("the summary lacks %q", want)
		}
	}
	if n := strings.Count(text, squeeze(SummaryTitle)); n != 2 {
		t.Errorf("%d summaries, want 2", n)
	}
}

func BenchmarkRender(b *testing.B) {
	s := signedTest(b)
	for b.Loop() {
		if _, _, err := Render(s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPDF(b *testing.B) {
	s := signedTest(b)
	for b.Loop() {
		if _, err := PDF(s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPNG(b *testing.B) {
	s := signedTest(b)
	for b.Loop() {
		if _, err := PNG(s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

package rx

import (
	"bytes"
	_ "embed"
	"fmt"
	"image/png"
	"os"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/sync/errgroup"
)

// The prescription's font, DejaVu Sans: it has the rupee sign and the
// letters of names in every Latin script (fonts/LICENSE).
var (
	//go:embed fonts/DejaVuSans.ttf
	fontRegular []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	fontBold []byte
)

// PDF renders the signed prescription on one A4 page (more when long),
// with the guideline's fields, the signature image from the doctor's
// profile (sigPNG, or nil), the QR code and the footer line.
func PDF(s Signed, sigPNG []byte) ([]byte, error) {
	qrText, err := s.QR()
	if err != nil {
		return nil, err
	}
	qr, err := qrImage(qrText, 4)
	if err != nil {
		return nil, err
	}
	var qrPNG bytes.Buffer
	if err := png.Encode(&qrPNG, qr); err != nil {
		return nil, err
	}
	f := fpdf.New("P", "mm", "A4", "")
	f.SetCreationDate(s.Prescription.Issued)
	f.SetModificationDate(s.Prescription.Issued)
	f.SetTitle("Prescription "+s.Prescription.ID, true)
	f.SetAuthor(s.Prescription.Doctor.Name, true)
	f.SetSubject(Footer, true)
	f.SetCreator("teleconsole", true)
	f.AddUTF8FontFromBytes("dejavu", "", fontRegular)
	f.AddUTF8FontFromBytes("dejavu", "B", fontBold)
	f.SetMargins(18, 15, 18)
	f.SetAutoPageBreak(true, 15)
	f.AddPage()
	pageW, _ := f.GetPageSize()
	left, _, right, _ := f.GetMargins()
	width := pageW - left - right
	for _, l := range layout(s) {
		switch l.style {
		case styleTitle:
			f.SetFont("dejavu", "B", 16)
			f.MultiCell(width, 8, l.text, "", "L", false)
		case styleSub:
			f.SetFont("dejavu", "", 9.5)
			f.MultiCell(width, 4.6, l.text, "", "L", false)
		case styleRule:
			f.Ln(1.5)
			y := f.GetY()
			f.Line(left, y, pageW-right, y)
			f.Ln(2)
		case styleHeading:
			f.Ln(1)
			f.SetFont("dejavu", "B", 12)
			f.MultiCell(width, 6.5, l.text, "", "L", false)
		case styleField, styleItem:
			f.SetFont("dejavu", "B", 10.5)
			if l.style == styleItem {
				f.SetX(left + 4)
			}
			f.Write(5.4, l.label)
			f.SetFont("dejavu", "", 10.5)
			sep := ": "
			if l.style == styleItem {
				sep = " - "
			}
			f.Write(5.4, sep+l.text)
			f.Ln(6)
		case styleSmall:
			f.SetFont("dejavu", "", 8)
			f.MultiCell(width, 4, l.text, "", "L", false)
		}
	}
	// The QR code and the signature, side by side, kept together.
	const qrSize = 55
	_, pageH := f.GetPageSize()
	if f.GetY()+qrSize+20 > pageH {
		f.AddPage()
	}
	y := f.GetY() + 2
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	f.RegisterImageOptionsReader("qr", opt, &qrPNG)
	f.ImageOptions("qr", pageW-right-qrSize, y, qrSize, qrSize, false, opt, 0, "")
	if len(sigPNG) > 0 {
		f.RegisterImageOptionsReader("signature", opt, bytes.NewReader(sigPNG))
		f.ImageOptions("signature", left, y+10, 50, 0, false, opt, 0, "")
	}
	f.SetXY(left, y+qrSize-8)
	f.SetFont("dejavu", "B", 10)
	f.MultiCell(width-qrSize-4, 5, s.Prescription.Doctor.Name, "", "L", false)
	f.SetFont("dejavu", "", 9)
	f.MultiCell(width-qrSize-4, 4.5, "Reg. No. "+s.Prescription.Doctor.Registration, "", "L", false)
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("rx: PDF: %w", err)
	}
	var out bytes.Buffer
	if err := f.Output(&out); err != nil {
		return nil, fmt.Errorf("rx: PDF: %w", err)
	}
	return out.Bytes(), nil
}

// SignatureImage reads the doctor's signature image, or nil when the
// profile names none.
func SignatureImage(p Profile) ([]byte, error) {
	if p.SignatureImage == "" {
		return nil, nil
	}
	b, err := os.ReadFile(p.SignatureImage)
	if err != nil {
		return nil, fmt.Errorf("the signature image: %w", err)
	}
	if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("the signature image %s: not a PNG: %w", p.SignatureImage, err)
	}
	return b, nil
}

// Render renders the signed prescription as a PDF and a PNG, at once.
func Render(s Signed, sigPNG []byte) (pdf, png []byte, err error) {
	var g errgroup.Group
	g.Go(func() (err error) {
		pdf, err = PDF(s, sigPNG)
		return err
	})
	g.Go(func() (err error) {
		png, err = PNG(s, sigPNG)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return pdf, png, nil
}

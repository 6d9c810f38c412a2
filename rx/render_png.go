package rx

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// The PNG's page: A4's width at 150 dots per inch, its margins, and how
// many pixels a QR module takes (a phone's camera reads it from a screen).
const (
	pngWidth  = 1240
	pngMargin = 90
	pngQRDot  = 4
)

// pngFaces are the PNG's fonts, one per style.
type pngFaces struct {
	regular, bold *opentype.Font
}

func (f pngFaces) face(bold bool, px float64) (font.Face, error) {
	fnt := f.regular
	if bold {
		fnt = f.bold
	}
	return opentype.NewFace(fnt, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
}

// PNG renders the signed prescription as an image (the reference patient
// app shows chat attachments only as images): the same lines as the PDF,
// the QR code large enough for a phone to read, and the signature image
// from the doctor's profile (sigPNG, or nil).
func PNG(s Signed, sigPNG []byte) ([]byte, error) {
	qrText, err := s.QR()
	if err != nil {
		return nil, err
	}
	var faces pngFaces
	if faces.regular, err = opentype.Parse(fontRegular); err != nil {
		return nil, fmt.Errorf("rx: font: %w", err)
	}
	if faces.bold, err = opentype.Parse(fontBold); err != nil {
		return nil, fmt.Errorf("rx: font: %w", err)
	}
	var sig image.Image
	if len(sigPNG) > 0 {
		if sig, err = png.Decode(bytes.NewReader(sigPNG)); err != nil {
			return nil, fmt.Errorf("rx: the signature image: %w", err)
		}
	}
	lines := layout(s)
	// Measure, then draw on a page of the height measured.
	height, err := drawLines(nil, faces, lines)
	if err != nil {
		return nil, err
	}
	// The page is drawn with each QR code tried until the whole page
	// reads back (the text around it must not mislead the decoder).
	var page *image.Gray
	var drawErr error
	_, err = qrImageChecked(qrText, pngQRDot, func(qr image.Image) bool {
		page, drawErr = drawPage(faces, lines, height, qr, sig)
		if drawErr != nil {
			return true
		}
		got, err := readQR(page, false)
		return err == nil && got == qrText
	})
	if drawErr != nil {
		return nil, drawErr
	}
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&out, page); err != nil {
		return nil, fmt.Errorf("rx: PNG: %w", err)
	}
	return out.Bytes(), nil
}

// drawPage draws the lines, measured to end at height, the QR code below
// them on the right and the signature image on the left.
func drawPage(faces pngFaces, lines []line, height int, qr, sig image.Image) (*image.Gray, error) {
	qrTop := height + 10
	total := qrTop + qr.Bounds().Dy() + pngMargin/2
	// Grey: the page is black on white, and a quarter of RGBA's bytes
	// to encode.
	img := image.NewGray(image.Rect(0, 0, pngWidth, total))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	if _, err := drawLines(img, faces, lines); err != nil {
		return nil, err
	}
	qrAt := image.Pt(pngWidth-pngMargin-qr.Bounds().Dx()+4*pngQRDot, qrTop)
	draw.Draw(img, qr.Bounds().Add(qrAt), qr, image.Point{}, draw.Src)
	if sig != nil {
		b := sig.Bounds()
		w := min(360, b.Dx())
		h := b.Dy() * w / max(1, b.Dx())
		dst := image.Rect(pngMargin, qrTop+40, pngMargin+w, qrTop+40+h)
		xdraw.CatmullRom.Scale(img, dst, sig, b, draw.Over, nil)
	}
	return img, nil
}

// drawLines lays the lines out from the page's top and returns where they
// end; with img nil it only measures.
func drawLines(img draw.Image, faces pngFaces, lines []line) (int, error) {
	y := pngMargin / 2
	width := pngWidth - 2*pngMargin
	for _, l := range lines {
		var size float64
		var boldLabel, boldText bool
		indent := 0
		switch l.style {
		case styleTitle:
			size, boldText = 34, true
		case styleSub:
			size = 20
		case styleRule:
			y += 8
			if img != nil {
				draw.Draw(img, image.Rect(pngMargin, y, pngWidth-pngMargin, y+2), image.NewUniform(color.Gray{Y: 90}), image.Point{}, draw.Src)
			}
			y += 14
			continue
		case styleHeading:
			size, boldText = 26, true
			y += 6
		case styleField:
			size, boldLabel = 22, true
		case styleItem:
			size, boldLabel, indent = 22, true, 24
		case styleSmall:
			size = 17
		}
		reg, err := faces.face(boldText, size)
		if err != nil {
			return 0, err
		}
		bold, err := faces.face(true, size)
		if err != nil {
			return 0, err
		}
		lineH := int(size * 1.4)
		type word struct {
			s    string
			face font.Face
		}
		var words []word
		if l.label != "" {
			sep := ":"
			if l.style == styleItem {
				sep = " -"
			}
			lf := reg
			if boldLabel {
				lf = bold
			}
			for w := range strings.FieldsSeq(l.label + sep) {
				words = append(words, word{w, lf})
			}
		}
		for w := range strings.FieldsSeq(l.text) {
			words = append(words, word{w, reg})
		}
		x := indent
		y += lineH
		for _, w := range words {
			adv := font.MeasureString(w.face, w.s).Ceil()
			space := font.MeasureString(w.face, " ").Ceil()
			if x > indent && x+space+adv > width {
				x = indent
				y += lineH
			}
			if x > indent {
				x += space
			}
			if img != nil {
				d := font.Drawer{Dst: img, Src: image.Black, Face: w.face, Dot: fixed.P(pngMargin+x, y)}
				d.DrawString(w.s)
			}
			x += adv
		}
		y += lineH / 4
		_ = reg.Close()
		_ = bold.Close()
	}
	return y, nil
}

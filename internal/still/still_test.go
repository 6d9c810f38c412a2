package still

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			switch {
			case x >= w/2 && y < h/2:
				c = color.RGBA{0, 255, 0, 255}
			case x < w/2 && y >= h/2:
				c = color.RGBA{0, 0, 255, 255}
			case x >= w/2 && y >= h/2:
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestDecodeFormats(t *testing.T) {
	src := quadrants(64, 48)
	var p, j bytes.Buffer
	if err := png.Encode(&p, src); err != nil {
		t.Fatal(err)
	}
	if err := jpeg.Encode(&j, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"png": p.Bytes(), "jpeg": j.Bytes()} {
		img, err := Decode(data, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds().Dx() != 64 || img.Bounds().Dy() != 48 {
			t.Errorf("%s: %v", name, img.Bounds())
		}
		if r, g, b, _ := img.At(50, 5).RGBA(); r>>8 > 40 || g>>8 < 200 || b>>8 > 40 {
			t.Errorf("%s: the green quadrant is %d,%d,%d", name, r>>8, g>>8, b>>8)
		}
	}
}

func TestDecodeRefuses(t *testing.T) {
	var big bytes.Buffer
	// A PNG of 6000x6000 flat pixels compresses to a few kilobytes.
	if err := png.Encode(&big, image.NewGray(image.Rect(0, 0, 6000, 6000))); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(big.Bytes(), 30_000_000); !errors.Is(err, ErrTooLarge) {
		t.Errorf("6000x6000 in %d bytes: %v, want ErrTooLarge", big.Len(), err)
	}
	if _, err := Decode([]byte("%PDF-1.4 not a picture"), 0); !errors.Is(err, ErrFormat) {
		t.Errorf("a PDF: %v, want ErrFormat", err)
	}
	// A PNG header with nothing after it.
	if _, err := Decode(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...), 0); err == nil {
		t.Error("a truncated PNG decoded")
	}
}

func TestFit(t *testing.T) {
	src := quadrants(400, 300)
	out := Fit(src, 100, 100)
	if out.Rect.Dx() != 100 || out.Rect.Dy() != 75 {
		t.Fatalf("fit to 100x100: %v, want 100x75", out.Rect)
	}
	// Each quadrant keeps its colour away from the seams.
	for _, c := range []struct {
		x, y    int
		r, g, b uint8
	}{{10, 10, 255, 0, 0}, {90, 10, 0, 255, 0}, {10, 65, 0, 0, 255}, {90, 65, 255, 255, 255}} {
		got := out.RGBAAt(c.x, c.y)
		if got.R != c.r || got.G != c.g || got.B != c.b {
			t.Errorf("(%d,%d) = %v, want %d,%d,%d", c.x, c.y, got, c.r, c.g, c.b)
		}
	}
	if same := Fit(src, 1000, 1000); same.Rect.Dx() != 400 || same.RGBAAt(399, 299) != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("a picture that fits: %v", same.Rect)
	}
}

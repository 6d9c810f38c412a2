// Package still reads still pictures that patients send (the photo in a
// READY, an image in the chat) within bounds, and scales them for the
// screen. A picture's header is read before its pixels, so a small file
// that claims a huge picture is refused before anything is allocated for
// it.
package still

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"
)

// MaxPixels is the largest picture Decode takes by default: 30 megapixels
// (a 24-megapixel phone camera's photo fits; decoding one takes about 120
// MB), so one picture cannot take the console's memory.
const MaxPixels = 30_000_000

// ErrFormat means the bytes are not a picture in a format read here (JPEG,
// PNG, GIF, WebP).
var ErrFormat = errors.New("not a JPEG, PNG, GIF or WebP picture")

// ErrTooLarge means the picture has more pixels than allowed.
var ErrTooLarge = errors.New("picture too large")

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecFor chooses the decoder by what the bytes look like, not by a name
// or type the sender gave.
func codecFor(data []byte) (codec, bool) {
	switch http.DetectContentType(data) {
	case "image/jpeg":
		return codec{jpeg.DecodeConfig, jpeg.Decode}, true
	case "image/png":
		return codec{png.DecodeConfig, png.Decode}, true
	case "image/gif":
		return codec{gif.DecodeConfig, gif.Decode}, true
	case "image/webp":
		return codec{webp.DecodeConfig, webp.Decode}, true
	}
	return codec{}, false
}

// Decode reads the picture in data, refusing one of more than maxPixels
// pixels (MaxPixels when maxPixels <= 0).
func Decode(data []byte, maxPixels int) (image.Image, error) {
	if maxPixels <= 0 {
		maxPixels = MaxPixels
	}
	c, ok := codecFor(data)
	if !ok {
		return nil, ErrFormat
	}
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("picture header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("picture of %dx%d pixels: %w", cfg.Width, cfg.Height, ErrFormat)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: %dx%d pixels, limit %.0f megapixels", ErrTooLarge, cfg.Width, cfg.Height, float64(maxPixels)/1e6)
	}
	img, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("picture: %w", err)
	}
	return img, nil
}

// Fit returns img scaled to fit in w by h pixels, keeping its aspect
// ratio, as a new RGBA picture; a picture that fits already is copied at
// its size. The scaling filters (bilinear, widened when shrinking), so a
// photo shrunk many times keeps its detail rather than aliasing.
func Fit(img image.Image, w, h int) *image.RGBA {
	b := img.Bounds()
	iw, ih := b.Dx(), b.Dy()
	if iw <= 0 || ih <= 0 || w <= 0 || h <= 0 {
		return image.NewRGBA(image.Rect(0, 0, 0, 0))
	}
	f := min(1, float64(w)/float64(iw), float64(h)/float64(ih))
	ow, oh := max(1, int(float64(iw)*f+0.5)), max(1, int(float64(ih)*f+0.5))
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	if ow == iw && oh == ih {
		draw.Draw(out, out.Rect, img, b.Min, draw.Src)
		return out
	}
	xdraw.BiLinear.Scale(out, out.Rect, img, b, draw.Src, nil)
	return out
}

package rx

import (
	"errors"
	"fmt"
	"image"
	"image/color"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// qrMasks are the mask patterns tried in turn: the encoder's choice
// first (-1), then the eight of the standard.
var qrMasks = [...]int{-1, 0, 1, 2, 3, 4, 5, 6, 7}

// qrImage draws text as a QR code (error correction M, a quiet zone of 4
// modules), scale pixels to a module, black on white, that ReadQR reads
// back: the decoder misses some codes of the larger versions (1 in 13 of
// a prescription's, measured), so another mask pattern is tried until it
// reads.
func qrImage(text string, scale int) (*image.Gray, error) {
	return qrImageChecked(text, scale, func(img image.Image) bool {
		got, err := readQR(img, false)
		return err == nil && got == text
	})
}

// qrImageChecked is qrImage with the check of each candidate given.
func qrImageChecked(text string, scale int, reads func(image.Image) bool) (*image.Gray, error) {
	var last error
	for _, mask := range qrMasks {
		img, err := qrImageMask(text, scale, mask)
		if err != nil {
			return nil, err
		}
		if reads(img) {
			return img, nil
		}
		last = fmt.Errorf("mask %d not read back", mask)
	}
	return nil, fmt.Errorf("rx: QR code: no mask pattern reads back: %w", last)
}

// qrImageMask draws text as a QR code with the mask pattern given (-1:
// the encoder's choice).
func qrImageMask(text string, scale, mask int) (*image.Gray, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           4,
	}
	if mask >= 0 {
		hints[gozxing.EncodeHintType_QR_MASK_PATTERN] = mask
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("rx: QR code: %w", err)
	}
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w*scale, h*scale))
	for y := range h * scale {
		for x := range w * scale {
			c := color.Gray{Y: 255}
			if m.Get(x/scale, y/scale) {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	return img, nil
}

// ErrNoQR means no QR code could be read in an image.
var ErrNoQR = errors.New("no readable QR code")

// ReadQR finds and reads the QR code in an image.
func ReadQR(img image.Image) (string, error) { return readQR(img, true) }

// readQR reads the QR code in an image; harder looks longer, as ReadQR
// does for a photo. The renderer checks its own codes without: a code
// read that way is read by ReadQR too, and the check costs less.
func readQR(img image.Image, harder bool) (string, error) {
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoQR, err)
	}
	hints := map[gozxing.DecodeHintType]any{}
	if harder {
		hints[gozxing.DecodeHintType_TRY_HARDER] = true
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrNoQR, err)
	}
	return res.GetText(), nil
}

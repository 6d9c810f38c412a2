package rx

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	_ "image/jpeg" // a photo of a prescription
	"image/png"
	"io"
	"regexp"
	"strconv"
)

// ReadFile finds the prescription's QR code in a PDF, PNG or JPEG file and
// returns its text. A PDF's QR code is read from its images.
func ReadFile(data []byte) (string, error) {
	if bytes.HasPrefix(data, []byte("%PDF-")) {
		imgs, err := pdfImages(data)
		if err != nil {
			return "", err
		}
		if len(imgs) == 0 {
			return "", fmt.Errorf("%w: the PDF has no images", ErrNoQR)
		}
		var last error
		for _, img := range imgs {
			text, err := ReadQR(img)
			if err == nil {
				return text, nil
			}
			last = err
		}
		return "", last
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("%w: not a PDF, PNG or JPEG: %v", ErrNoQR, err)
	}
	return ReadQR(img)
}

var (
	// pdfImageDict matches an image XObject's dictionary up to its stream.
	pdfImageDict = regexp.MustCompile(`(?s)<<((?:[^<>]|<<(?:[^<>]|<<[^<>]*>>)*>>)*?/Subtype\s*/Image(?:[^<>]|<<(?:[^<>]|<<[^<>]*>>)*>>)*)>>\s*stream\r?\n`)
	pdfWidth     = pdfInt("Width")
	pdfHeight    = pdfInt("Height")
	pdfBits      = pdfInt("BitsPerComponent")
	pdfLength    = pdfInt("Length")
	pdfPredictor = pdfInt("Predictor")
	pdfColors    = pdfInt("Colors")
)

// pdfInt matches a dictionary's number, direct or an indirect reference.
func pdfInt(key string) *regexp.Regexp {
	return regexp.MustCompile(`/` + key + `\s+(\d+)(\s+0\s+R)?`)
}

// pdfImages decodes the images of a PDF that a QR code can be in: gray or
// RGB, 8 bits, Flate-compressed (with PNG predictors or without), or JPEG.
// It reads the file's objects as written, as teleconsole's PDFs and most
// others are; an image it cannot read is skipped.
func pdfImages(data []byte) ([]image.Image, error) {
	var out []image.Image
	for _, m := range pdfImageDict.FindAllSubmatchIndex(data, -1) {
		dict := data[m[2]:m[3]]
		start := m[1]
		n, ok := pdfNumber(data, dict, pdfLength)
		if !ok || start+n > len(data) {
			continue
		}
		stream := data[start : start+n]
		img, err := pdfImage(data, dict, stream)
		if err == nil {
			out = append(out, img)
		}
	}
	return out, nil
}

// pdfNumber reads a number of dict, direct or an indirect object's.
func pdfNumber(data, dict []byte, re *regexp.Regexp) (int, bool) {
	m := re.FindSubmatch(dict)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		return 0, false
	}
	if len(m[2]) == 0 {
		return n, true
	}
	obj := regexp.MustCompile(`(?m)^` + strconv.Itoa(n) + `\s+0\s+obj\s*(\d+)\s*endobj`).FindSubmatch(data)
	if obj == nil {
		return 0, false
	}
	v, err := strconv.Atoi(string(obj[1]))
	return v, err == nil
}

func pdfImage(data, dict, stream []byte) (image.Image, error) {
	if bytes.Contains(dict, []byte("/DCTDecode")) {
		img, _, err := image.Decode(bytes.NewReader(stream))
		return img, err
	}
	if !bytes.Contains(dict, []byte("/FlateDecode")) {
		return nil, errors.New("not Flate or JPEG")
	}
	w, okW := pdfNumber(data, dict, pdfWidth)
	h, okH := pdfNumber(data, dict, pdfHeight)
	bits, okB := pdfNumber(data, dict, pdfBits)
	if !okW || !okH || !okB || bits != 8 || w <= 0 || h <= 0 || w*h > 64<<20 {
		return nil, errors.New("unsupported image")
	}
	colors := 1
	switch {
	case bytes.Contains(dict, []byte("/DeviceRGB")):
		colors = 3
	case bytes.Contains(dict, []byte("/DeviceGray")):
	default:
		if c, ok := pdfNumber(data, dict, pdfColors); ok {
			colors = c
		}
	}
	if colors != 1 && colors != 3 {
		return nil, errors.New("unsupported colours")
	}
	if p, ok := pdfNumber(data, dict, pdfPredictor); ok && p >= 10 {
		// PNG predictors: the stream is a PNG's IDAT data as it stands.
		return png.Decode(bytes.NewReader(pngFile(w, h, colors, stream)))
	}
	zr, err := zlib.NewReader(bytes.NewReader(stream))
	if err != nil {
		return nil, err
	}
	pix := make([]byte, w*h*colors)
	if _, err := io.ReadFull(zr, pix); err != nil {
		return nil, err
	}
	if colors == 1 {
		return &image.Gray{Pix: pix, Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(img.Pix[4*i:4*i+3], pix[3*i:3*i+3])
		img.Pix[4*i+3] = 255
	}
	return img, nil
}

// pngFile wraps zlib data with PNG row filters as a PNG file.
func pngFile(w, h, colors int, idat []byte) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		b.Write(n[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		b.Write(n[:])
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8] = 8
	if colors == 3 {
		ihdr[9] = 2
	}
	chunk("IHDR", ihdr)
	chunk("IDAT", idat)
	chunk("IEND", nil)
	return b.Bytes()
}

package ui

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/kitty"
	"github.com/charmbracelet/x/ansi/sixel"
)

// testPicture is a 320x240 picture like a camera's: smooth gradients, a
// face-coloured disc, hard edges and a few saturated colours.
func testPicture() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	for y := range 240 {
		for x := range 320 {
			r := uint8(40 + x*150/320)
			g := uint8(60 + y*120/240)
			b := uint8(90 + (x+y)*80/560)
			dx, dy := x-160, y-110
			if dx*dx+dy*dy < 70*70 {
				r, g, b = 224-uint8(dy/4), 172-uint8(dx/8), 140
			}
			if x > 20 && x < 70 && y > 180 && y < 220 {
				r, g, b = 200, 30, 30
			}
			if x > 250 && x < 300 && y > 20 && y < 60 {
				r, g, b = 20, 40, 210
			}
			img.SetRGBA(x, y, color.RGBA{r, g, b, 255})
		}
	}
	return img
}

// scaled returns img scaled to w by h, nearest pixel (as the surface does).
func scaled(img *image.RGBA, w, h int) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	eachPixel(img, w, h, func(i int, r, g, b uint8) {
		copy(out.Pix[4*i:], []byte{r, g, b, 255})
	})
	return out
}

// psnr is the peak signal-to-noise ratio of b against a over the RGB
// channels, in dB.
func psnr(t *testing.T, a, b image.Image) float64 {
	t.Helper()
	if a.Bounds().Size() != b.Bounds().Size() {
		t.Fatalf("sizes differ: %v and %v", a.Bounds(), b.Bounds())
	}
	var sum float64
	n := 0
	ab, bb := a.Bounds(), b.Bounds()
	for y := range ab.Dy() {
		for x := range ab.Dx() {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				sum += d * d
				n++
			}
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}

// sequences splits terminal output into its escape sequences and text,
// with x/ansi's parser.
type seq struct {
	kind byte // 'P' DCS, '_' APC, ']' OSC, 'C' CSI, 'E' ESC, 't' text
	data string
}

func sequences(out string) []seq {
	var got []seq
	var state byte
	for len(out) > 0 {
		s, _, n, newState := ansi.DecodeSequence(out, state, nil)
		state = newState
		var k byte = 't'
		switch {
		case strings.HasPrefix(s, "\x1bP"):
			k = 'P'
		case strings.HasPrefix(s, "\x1b_"):
			k = '_'
		case strings.HasPrefix(s, "\x1b]"):
			k = ']'
		case strings.HasPrefix(s, "\x1b["):
			k = 'C'
		case strings.HasPrefix(s, "\x1b"):
			k = 'E'
		}
		got = append(got, seq{k, s})
		out = out[n:]
	}
	return got
}

var sixelRepeat = regexp.MustCompile(`![0-9]+[?-~]`)

// decodeSixel decodes the one sixel image in out with x/ansi's decoder.
func decodeSixel(t *testing.T, out string) image.Image {
	t.Helper()
	for _, s := range sequences(out) {
		if s.kind != 'P' {
			continue
		}
		body := strings.TrimSuffix(s.data, "\x1b\\")
		q := strings.IndexByte(body, 'q')
		if q < 0 {
			t.Fatalf("DCS without q: %.40q", body)
		}
		// x/ansi's decoder (v0.11.8) drops the sixels that follow a
		// repeat ("!5~AB" loses "AB"): repeats are expanded for it.
		flat := sixelRepeat.ReplaceAllStringFunc(body[q+1:], func(r string) string {
			n, _ := strconv.Atoi(r[1 : len(r)-1])
			return strings.Repeat(r[len(r)-1:], n)
		})
		img, err := (&sixel.Decoder{}).Decode(strings.NewReader(flat))
		if err != nil {
			t.Fatalf("sixel decode: %v", err)
		}
		return img
	}
	t.Fatalf("no sixel sequence in %.80q", out)
	return nil
}

func TestSixelRoundTrip(t *testing.T) {
	pic := testPicture()
	for _, size := range []image.Point{{320, 240}, {480, 360}, {160, 120}, {317, 239}} {
		var e sixelEncoder
		out := string(e.encode(pic, size.X, size.Y))
		img := decodeSixel(t, out)
		if got := img.Bounds().Size(); got != size {
			t.Fatalf("decoded %v, want %v", got, size)
		}
		if p := psnr(t, scaled(pic, size.X, size.Y), img); p < 30 {
			t.Errorf("%v: PSNR %.1f dB, want at least 30", size, p)
		}
		if len(e.palette) > 256 {
			t.Errorf("palette of %d colours", len(e.palette))
		}
	}
}

// TestSixelImageMagick decodes the encoder's output with a second decoder,
// ImageMagick's, which reads repeats as terminals do.
func TestSixelImageMagick(t *testing.T) {
	convert, err := exec.LookPath("convert")
	if err != nil {
		t.Fatal("ImageMagick's convert is needed (make test-deps installs it):", err)
	}
	pic := testPicture()
	var e sixelEncoder
	dir := t.TempDir()
	six, out := filepath.Join(dir, "frame.six"), filepath.Join(dir, "frame.png")
	if err := os.WriteFile(six, e.encode(pic, 320, 240), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(convert, six, out).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v: %s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if p := psnr(t, pic, img); p < 30 {
		t.Errorf("PSNR %.1f dB, want at least 30", p)
	}
}

func TestSixelRuns(t *testing.T) {
	got := string(appendSixelRow(nil, []uint8{1, 1, 1, 1, 1, 2, 3, 3, 3, 0, 0}))
	if want := "!5@ABBB"; got != want {
		t.Fatalf("row = %q, want %q", got, want)
	}
}

// kittyChunks returns the options of each APC G chunk in out and the
// payload they carry together.
func kittyChunks(t *testing.T, out string) ([]string, []byte) {
	t.Helper()
	var opts []string
	var payload []byte
	for _, s := range sequences(out) {
		if s.kind != '_' {
			continue
		}
		body := strings.TrimSuffix(strings.TrimPrefix(s.data, "\x1b_G"), "\x1b\\")
		o, p, _ := strings.Cut(body, ";")
		opts = append(opts, o)
		payload = append(payload, p...)
	}
	raw, err := base64.StdEncoding.DecodeString(string(payload))
	if err != nil {
		t.Fatalf("payload: %v", err)
	}
	return opts, raw
}

func TestKittyRoundTrip(t *testing.T) {
	pic := testPicture()
	s := &pixelSurface{mode: GraphicsKitty, cellW: 10, cellH: 20}
	s.place(320, 240, 1, 4, 60, 20, 4)
	// 60x20 cells are 600x400 pixels: the 4:3 picture is 533x400, 54
	// cells across (the last one part filled), centred.
	if s.cols != 54 || s.rows != 20 || s.col != 4 || s.row != 4 || s.pxW != 533 || s.pxH != 400 {
		t.Fatalf("placement %dx%d cells at (%d,%d), %dx%d px; want 54x20 at (4,4), 533x400", s.cols, s.rows, s.col, s.row, s.pxW, s.pxH)
	}
	out := string(s.draw(pic))
	opts, raw := kittyChunks(t, out)
	if len(opts) < 2 {
		t.Fatalf("%d chunks; a 320x240 frame takes several", len(opts))
	}
	first := "," + opts[0] + ","
	for _, want := range []string{"a=T", "U=1", "i=42", "f=24", "o=z", "s=320", "v=240", "c=54", "r=20", "q=2", "m=1"} {
		if !strings.Contains(first, ","+want+",") {
			t.Errorf("first chunk %q lacks %s", opts[0], want)
		}
	}
	if last := opts[len(opts)-1]; !strings.Contains(last, "m=0") {
		t.Errorf("last chunk %q lacks m=0", last)
	}
	img, err := (&kitty.Decoder{Decompress: true, Format: kitty.RGB, Width: 320, Height: 240}).Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if p := psnr(t, pic, img); !math.IsInf(p, 1) {
		t.Errorf("kitty frame differs from the picture: PSNR %.1f dB", p)
	}

	s.tmux = true
	wrapped := string(s.draw(pic))
	if !strings.HasPrefix(wrapped, "\x1bPtmux;\x1b\x1b_G") {
		t.Errorf("in tmux the sequence is not passed through: %.30q", wrapped)
	}
}

func TestITerm2RoundTrip(t *testing.T) {
	pic := testPicture()
	s := &pixelSurface{mode: GraphicsITerm2, cellW: 10, cellH: 20}
	s.place(320, 240, 1, 4, 60, 20, 1)
	out := string(s.draw(pic))
	var found bool
	for _, q := range sequences(out) {
		if q.kind != ']' {
			continue
		}
		_, data, ok := strings.Cut(q.data, ":")
		if !ok || !strings.Contains(q.data, "inline=1") {
			t.Fatalf("OSC 1337 without inline content: %.80q", q.data)
		}
		if !strings.Contains(q.data, "width=32;height=12") {
			t.Errorf("not sized to the placement's 32x12 cells: %.80q", q.data)
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimRight(data, "\a"))
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if p := psnr(t, pic, img); p < 30 {
			t.Errorf("PSNR %.1f dB, want at least 30", p)
		}
		found = true
	}
	if !found {
		t.Fatal("no OSC 1337 sequence")
	}
	// 60x20 cells, the picture 32x12 of them (320x240 px, not scaled up):
	// centred at row 8, column 15 (0-based).
	if !strings.HasPrefix(out, ansi.SaveCursor+"\x1b[9;16H") || !strings.HasSuffix(out, ansi.RestoreCursor) {
		t.Errorf("not drawn at the placement's cell (row 9, col 16) with the cursor put back: %.20q…%.8q", out, out[len(out)-8:])
	}
}

func TestPlaceholderLines(t *testing.T) {
	s := &pixelSurface{mode: GraphicsKitty, cellW: 10, cellH: 20}
	s.place(320, 240, 1, 4, 40, 10, 4)
	lines := s.lines(1, 4, 40, 10)
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 10", len(lines))
	}
	n := 0
	for r, l := range lines {
		if w := ansi.StringWidth(l); w != 40 {
			t.Errorf("line %d is %d cells wide, want 40", r, w)
		}
		for i, c := range strings.Split(l, string(kitty.Placeholder))[1:] {
			rs := []rune(c)
			if len(rs) < 2 || rs[0] != kitty.Diacritic(r-(s.row-4)) || rs[1] != kitty.Diacritic(i) {
				t.Fatalf("line %d cell %d: diacritics %q", r, i, c)
			}
			n++
		}
	}
	if n != s.cols*s.rows {
		t.Errorf("%d placeholders, want %d", n, s.cols*s.rows)
	}
}

func BenchmarkSixel(b *testing.B) {
	pic := testPicture()
	b.Run("teleconsole", func(b *testing.B) {
		var e sixelEncoder
		for b.Loop() {
			b.SetBytes(int64(len(e.encode(pic, 320, 240))))
		}
	})
	b.Run("teleconsole-640x480", func(b *testing.B) {
		var e sixelEncoder
		for b.Loop() {
			b.SetBytes(int64(len(e.encode(pic, 640, 480))))
		}
	})
	b.Run("x-ansi", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = (&sixel.Encoder{}).Encode(&buf, pic)
			b.SetBytes(int64(buf.Len()))
		}
	})
}

func BenchmarkKitty(b *testing.B) {
	pic := testPicture()
	b.Run("teleconsole", func(b *testing.B) {
		s := &pixelSurface{mode: GraphicsKitty, cellW: 10, cellH: 20}
		s.place(320, 240, 1, 4, 60, 20, 4)
		for b.Loop() {
			b.SetBytes(int64(len(s.draw(pic))))
		}
	})
	b.Run("x-ansi", func(b *testing.B) {
		var buf bytes.Buffer
		for b.Loop() {
			buf.Reset()
			_ = kitty.EncodeGraphics(&buf, pic, &kitty.Options{Action: kitty.TransmitAndPut, ID: 42, Format: kitty.RGB, Compression: kitty.Zlib, Transmission: kitty.Direct, Chunk: true, VirtualPlacement: true})
			b.SetBytes(int64(buf.Len()))
		}
	})
}

func BenchmarkITerm2(b *testing.B) {
	pic := testPicture()
	s := &pixelSurface{mode: GraphicsITerm2, cellW: 10, cellH: 20}
	s.place(320, 240, 1, 4, 60, 20, 1)
	for b.Loop() {
		b.SetBytes(int64(len(s.draw(pic))))
	}
}

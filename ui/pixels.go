package ui

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"image"
	"image/jpeg"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/iterm2"
	"github.com/charmbracelet/x/ansi/kitty"
)

// kittyImageID is the id of the patient's video picture, and
// kittyViewerID that of the picture viewer's (viewer.go): one can go
// without the other. Placeholder cells name their image by foreground
// colour, and a 256-colour index names ids 1 to 255 (the console caps its
// colour profile at 256 colours).
const (
	kittyImageID  = 42
	kittyViewerID = 43
)

// pixelSurface draws the patient's picture in real pixels over a rectangle
// of cells, through one of the three image protocols. It holds no I/O: each
// method returns the bytes to write, which the model hands to Bubble Tea's
// raw output (tea.Raw), so they reach the terminal between two of its own
// frames and never from another goroutine.
type pixelSurface struct {
	mode         Graphics
	tmux         bool // wrap image sequences for tmux's passthrough
	direct       bool // kitty: placed at the cursor, for terminals with no placeholders
	cellW, cellH int  // pixels in a cell
	id           int  // the kitty image's id; 0 is kittyImageID

	// The placement: the picture's top-left cell on the screen (0-based)
	// and the cells and pixels it covers.
	col, row   int
	cols, rows int
	pxW, pxH   int

	// scale (0 < scale <= 1, 0 meaning 1) sends fewer pixels than the
	// placement's: a sixel picture is drawn smaller, a kitty or iTerm2 one
	// is sent smaller and scaled up by the terminal to its cells.
	scale float64

	sixel sixelEncoder
	buf   bytes.Buffer
	raw   []byte // RGB bytes of a frame, for kitty
	z     *zlib.Writer
}

// place fits a picture of iw by ih pixels, keeping its aspect ratio, into
// the area of aw by ah cells whose top-left cell is (col, row) on the
// screen, centred, and no larger than scale times its own size. It reports
// whether the placement changed.
func (s *pixelSurface) place(iw, ih, col, row, aw, ah int, scale float64) bool {
	old := [6]int{s.col, s.row, s.cols, s.rows, s.pxW, s.pxH}
	s.cols, s.rows, s.pxW, s.pxH = 0, 0, 0, 0
	if iw > 0 && ih > 0 && aw > 0 && ah > 0 && s.cellW > 0 && s.cellH > 0 {
		maxW, maxH := aw*s.cellW, ah*s.cellH
		f := min(float64(maxW)/float64(iw), float64(maxH)/float64(ih), scale)
		s.pxW, s.pxH = max(1, int(float64(iw)*f)), max(1, int(float64(ih)*f))
		s.cols = min(aw, (s.pxW+s.cellW-1)/s.cellW)
		s.rows = min(ah, (s.pxH+s.cellH-1)/s.cellH)
		s.col = col + (aw-s.cols)/2
		s.row = row + (ah-s.rows)/2
	}
	return old != [6]int{s.col, s.row, s.cols, s.rows, s.pxW, s.pxH}
}

// imageID is the kitty image's id.
func (s *pixelSurface) imageID() int {
	if s.id == 0 {
		return kittyImageID
	}
	return s.id
}

// placed reports whether the picture has a non-empty placement.
func (s *pixelSurface) placed() bool { return s.cols > 0 && s.rows > 0 }

// draw returns the bytes that show img at the placement.
func (s *pixelSurface) draw(img *image.RGBA) []byte {
	if !s.placed() || img == nil || img.Rect.Empty() {
		return nil
	}
	s.buf.Reset()
	f := s.scale
	if f <= 0 || f > 1 {
		f = 1
	}
	switch s.mode {
	case GraphicsKitty:
		if s.direct {
			s.at(func() { s.drawKitty(shrink(img, f)) })
		} else {
			s.drawKitty(shrink(img, f))
		}
	case GraphicsSixel:
		w, h := max(1, int(float64(s.pxW)*f)), max(1, int(float64(s.pxH)*f))
		s.at(func() { s.buf.Write(s.sixel.encode(img, w, h)) })
	case GraphicsITerm2:
		s.at(func() { s.drawITerm2(shrink(img, f)) })
	}
	return s.buf.Bytes()
}

// at writes what f writes with the cursor at the placement, and puts the
// cursor back where Bubble Tea left it: sixel and iTerm2 images are drawn
// at the cursor.
func (s *pixelSurface) at(f func()) {
	s.buf.WriteString(ansi.SaveCursor)
	s.buf.WriteString(ansi.CursorPosition(s.col+1, s.row+1))
	f()
	s.buf.WriteString(ansi.RestoreCursor)
}

// drawKitty transmits img as the console's image, raw RGB compressed with
// zlib, with a virtual placement of the placement's cells: the placeholder
// cells of lines() show it. A new frame replaces the image's data; the
// cells stay as they are. A terminal that draws no placeholders (direct)
// gets the picture placed at the cursor over blank cells instead, as sixel.
//
// x/ansi's kitty.Encoder reads the image a pixel at a time through
// image.Image's At and writes three bytes at a time: 9.7 ms for a 320x240
// frame (BenchmarkKitty/x-ansi) against 2.6 ms reading the pixels directly
// (BenchmarkKitty/teleconsole), so the pixels are read here and x/ansi
// writes the sequences.
func (s *pixelSurface) drawKitty(img *image.RGBA) {
	b := img.Rect
	w, h := b.Dx(), b.Dy()
	if cap(s.raw) < 3*w*h {
		s.raw = make([]byte, 3*w*h)
	}
	raw := s.raw[:3*w*h]
	i := 0
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for x := 0; x < len(row); x += 4 {
			raw[i], raw[i+1], raw[i+2] = row[x], row[x+1], row[x+2]
			i += 3
		}
	}
	var z bytes.Buffer
	if s.z == nil {
		s.z, _ = zlib.NewWriterLevel(&z, zlib.BestSpeed)
	} else {
		s.z.Reset(&z)
	}
	_, _ = s.z.Write(raw)
	_ = s.z.Close()
	payload := make([]byte, base64.StdEncoding.EncodedLen(z.Len()))
	base64.StdEncoding.Encode(payload, z.Bytes())

	o := kitty.Options{
		Action: kitty.TransmitAndPut, ID: s.imageID(), Quiet: 2,
		Format: kitty.RGB, Compression: kitty.Zlib,
		ImageWidth: w, ImageHeight: h,
		VirtualPlacement: !s.direct, Columns: s.cols, Rows: s.rows,
	}
	if s.direct {
		// Placed at the cursor (at moves it there), which stays put.
		o.PlacementID, o.DoNotMoveCursor = 1, true
	}
	first := o.Options()
	for off := 0; off < len(payload) || off == 0; off += kitty.MaxChunkSize {
		end := min(len(payload), off+kitty.MaxChunkSize)
		var opts []string
		if off == 0 {
			opts = first
		} else {
			opts = []string{"q=2"}
		}
		if off > 0 || end < len(payload) {
			more := "m=0"
			if end < len(payload) {
				more = "m=1"
			}
			opts = append(opts, more)
		}
		s.writeSeq(ansi.KittyGraphics(payload[off:end], opts...))
		if end == len(payload) {
			break
		}
	}
}

// drawITerm2 writes img as an inline JPEG sized to the placement's cells.
func (s *pixelSurface) drawITerm2(img *image.RGBA) {
	var j bytes.Buffer
	_ = jpeg.Encode(&j, img, &jpeg.Options{Quality: 80})
	content := make([]byte, base64.StdEncoding.EncodedLen(j.Len()))
	base64.StdEncoding.Encode(content, j.Bytes())
	s.buf.WriteString(ansi.ITerm2(iterm2.File{
		Inline: true, Size: int64(j.Len()),
		Width: iterm2.Cells(s.cols), Height: iterm2.Cells(s.rows),
		IgnoreAspectRatio: true, DoNotMoveCursor: true,
		Content: content,
	}))
}

// writeSeq writes one sequence, through tmux's passthrough when the
// console runs in tmux.
func (s *pixelSurface) writeSeq(seq string) {
	if s.tmux {
		seq = ansi.TmuxPassthrough(seq)
	}
	s.buf.WriteString(seq)
}

// remove returns the bytes that take the picture off the terminal for
// good: the kitty image's data is deleted. Sixel and iTerm2 pictures are
// pixels on the screen with nothing to delete; the model repaints the
// screen over them.
func (s *pixelSurface) remove() []byte {
	if s.mode != GraphicsKitty {
		return nil
	}
	seq := ansi.KittyGraphics(nil, "a=d", "d=I", "i="+strconv.Itoa(s.imageID()), "q=2")
	if s.tmux {
		seq = ansi.TmuxPassthrough(seq)
	}
	return []byte(seq)
}

// lines returns the area of aw by ah cells whose top-left cell is
// (col, row) as lines of exactly aw cells: blank, but for the placement's
// cells, which for kitty are the image's placeholders (each names its row
// and column by diacritics, and the image by its foreground colour).
func (s *pixelSurface) lines(col, row, aw, ah int) []string {
	blank := strings.Repeat(" ", aw)
	out := make([]string, ah)
	for i := range out {
		out[i] = blank
	}
	if s.mode != GraphicsKitty || s.direct || !s.placed() {
		return out
	}
	left := s.col - col
	right := max(0, aw-left-s.cols)
	var b strings.Builder
	for r := range s.rows {
		y := s.row - row + r
		if y < 0 || y >= ah {
			continue
		}
		b.Reset()
		b.WriteString(strings.Repeat(" ", left))
		b.WriteString("\x1b[38;5;" + strconv.Itoa(s.imageID()) + "m")
		for c := range s.cols {
			b.WriteRune(kitty.Placeholder)
			b.WriteRune(kitty.Diacritic(r))
			b.WriteRune(kitty.Diacritic(c))
		}
		b.WriteString("\x1b[39m")
		b.WriteString(strings.Repeat(" ", right))
		out[y] = b.String()
	}
	return out
}

package ui

import (
	"image"
	"strconv"
	"strings"
)

// videoSize returns how many cells (cols by rows) an image of iw by ih
// pixels takes in an area of aw by ah cells, keeping its aspect ratio. A
// half-block cell shows one pixel across and two down, and a terminal cell
// is about twice as tall as it is wide, so those pixels are square.
func videoSize(iw, ih, aw, ah int) (cols, rows int) {
	if iw <= 0 || ih <= 0 || aw <= 0 || ah <= 0 {
		return 0, 0
	}
	cols = aw
	rows = (cols*ih + iw) / (2 * iw) // rounded
	if rows > ah {
		rows = ah
		cols = (2*rows*iw + ih/2) / ih
	}
	return max(1, min(cols, aw)), max(1, rows)
}

// hysteresis is how far, per channel, a pixel's new colour may move from
// the palette colour already on screen before the cell is redrawn. The
// palette's steps are about 40 apart, so a nearest-colour choice flips
// between two entries on every small change (a drifting gradient, camera
// noise); keeping the shown colour until the change is clear removes most of
// those flips, and their bytes, without hiding motion.
const hysteresis = 30

// halfBlocks draws frames as cells of half blocks in the 256-colour palette,
// remembering the colours on screen between frames (see hysteresis).
type halfBlocks struct {
	cols, rows int
	shown      []uint8 // palette index of each pixel drawn, row-major
}

// Draw draws img in cols by rows cells: each cell is an upper half block
// whose foreground is the top pixel and background the bottom pixel. Each
// pixel is the mean of a few samples of its area of img. A cell whose two
// pixels match is a space on that background, one byte instead of three;
// a colour escape is written only where a cell's colours differ from the
// cell before, which keeps flat areas cheap to send.
func (h *halfBlocks) Draw(img *image.RGBA, cols, rows int) string {
	b := img.Bounds()
	if cols <= 0 || rows <= 0 || b.Dx() <= 0 || b.Dy() <= 0 {
		return ""
	}
	if h.cols != cols || h.rows != rows || len(h.shown) != cols*rows*2 {
		h.cols, h.rows = cols, rows
		h.shown = nil
	}
	fresh := h.shown == nil
	if fresh {
		h.shown = make([]uint8, cols*rows*2)
	}
	pixel := func(c, py int) int {
		r, g, bl := meanRGB(img, c, py, cols, 2*rows)
		i := py*cols + c
		if !fresh && near(r, g, bl, h.shown[i]) {
			return int(h.shown[i])
		}
		h.shown[i] = xterm256(r, g, bl)
		return int(h.shown[i])
	}
	var sb strings.Builder
	sb.Grow(rows * (cols*4 + 40))
	for r := range rows {
		prevFg, prevBg := -1, -1
		for c := range cols {
			fg, bg := pixel(c, 2*r), pixel(c, 2*r+1)
			solid := fg == bg
			if solid {
				fg = prevFg // a space shows no foreground: keep the last one
				if fg < 0 {
					fg = bg
				}
			}
			if fg != prevFg || bg != prevBg {
				sb.WriteString("\x1b[38;5;")
				sb.WriteString(strconv.Itoa(fg))
				sb.WriteString(";48;5;")
				sb.WriteString(strconv.Itoa(bg))
				sb.WriteByte('m')
				prevFg, prevBg = fg, bg
			}
			if solid {
				sb.WriteByte(' ')
			} else {
				sb.WriteString("▀")
			}
		}
		sb.WriteString("\x1b[m")
		if r < rows-1 {
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// meanRGB returns the colour of pixel (px, py) of img scaled to pw by ph
// pixels, the mean of up to 3x3 samples of its area.
func meanRGB(img *image.RGBA, px, py, pw, ph int) (r, g, b uint8) {
	bd := img.Bounds()
	iw, ih := bd.Dx(), bd.Dy()
	x0, x1 := px*iw/pw, max(px*iw/pw+1, (px+1)*iw/pw)
	y0, y1 := py*ih/ph, max(py*ih/ph+1, (py+1)*ih/ph)
	stepX, stepY := max(1, (x1-x0)/3), max(1, (y1-y0)/3)
	var sr, sg, sb, n int
	for y := y0 + stepY/2; y < y1; y += stepY {
		i := img.PixOffset(bd.Min.X+x0+stepX/2, bd.Min.Y+y)
		for x := x0 + stepX/2; x < x1; x, i = x+stepX, i+4*stepX {
			sr += int(img.Pix[i])
			sg += int(img.Pix[i+1])
			sb += int(img.Pix[i+2])
			n++
		}
	}
	if n == 0 {
		return 0, 0, 0
	}
	return uint8(sr / n), uint8(sg / n), uint8(sb / n)
}

// near reports whether (r, g, b) is within hysteresis of palette entry idx
// on every channel.
func near(r, g, b, idx uint8) bool {
	pr, pg, pb := paletteRGB(idx)
	d := func(a, b uint8) bool { return abs(int(a)-int(b)) <= hysteresis }
	return d(r, pr) && d(g, pg) && d(b, pb)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// paletteRGB returns the colour of a palette entry from 16 to 255.
func paletteRGB(idx uint8) (r, g, b uint8) {
	if idx >= 232 {
		v := 8 + 10*(idx-232)
		return v, v, v
	}
	if idx < 16 {
		return 0, 0, 0
	}
	i := idx - 16
	return cubeLevels[i/36], cubeLevels[i/6%6], cubeLevels[i%6]
}

// cubeLevels are the channel values of the 6x6x6 colour cube of the
// 256-colour palette (indices 16 to 231).
const cubeLevels = "\x00\x5f\x87\xaf\xd7\xff"

// xterm256 returns the palette index nearest to the colour (r, g, b): a
// colour cube entry, or a grey (indices 232 to 255) when that is nearer.
func xterm256(r, g, b uint8) uint8 {
	ci := func(v uint8) int {
		switch {
		case v < 48:
			return 0
		case v < 115:
			return 1
		default:
			return int(v-35) / 40
		}
	}
	ri, gi, bi := ci(r), ci(g), ci(b)
	cr, cg, cb := cubeLevels[ri], cubeLevels[gi], cubeLevels[bi]

	mean := (int(r) + int(g) + int(b)) / 3
	gi2 := 0
	if mean > 238 {
		gi2 = 23
	} else if mean > 8 {
		gi2 = (mean - 3) / 10
	}
	gv := uint8(8 + 10*gi2)

	if dist(r, g, b, gv, gv, gv) < dist(r, g, b, cr, cg, cb) {
		return uint8(232 + gi2)
	}
	return uint8(16 + 36*ri + 6*gi + bi)
}

func dist(r1, g1, b1, r2, g2, b2 uint8) int {
	dr, dg, db := int(r1)-int(r2), int(g1)-int(g2), int(b1)-int(b2)
	return dr*dr + dg*dg + db*db
}

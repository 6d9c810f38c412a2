package ui

import (
	"image"
	"slices"
	"strconv"
)

// sixelEncoder writes frames as DEC sixel images.
//
// x/ansi's sixel.Encoder builds its palette by median cut over every
// distinct colour of each image: 46 ms a frame for the 320x240 picture the
// call screen shows (BenchmarkSixel/x-ansi), so it cannot keep up with live
// video at 10 frames a second. This one keeps the format and spends its
// time on a histogram instead: each pixel falls in one of 4,096 bins (4 bits
// a channel), the 256 fullest bins become the palette (each entry the mean
// colour of its bin, so most pixels are within half a bin step of theirs),
// and a 4,096-entry table maps every other bin to its nearest entry. That is
// 2 ms a frame (BenchmarkSixel/teleconsole), and decodes to within 30 dB of
// the frame (TestSixelRoundTrip). Its buffers are kept between frames.
type sixelEncoder struct {
	count            [4096]uint32
	sumR, sumG, sumB [4096]uint32
	lut              [4096]uint8
	palette          [][3]uint8
	order            []int
	src              []uint8 // palette index of each pixel of the image as given
	xmap             []int   // source column of each output column
	idx              []uint8 // palette index of each output pixel, row-major
	bands            []uint8 // one band's sixel bits: 256 colours by width
	used             []bool
	usedList         []int
	out              []byte
}

// encode returns img scaled to w by h pixels as one sixel DCS sequence.
func (e *sixelEncoder) encode(img *image.RGBA, w, h int) []byte {
	if w <= 0 || h <= 0 || img.Rect.Empty() {
		return nil
	}
	e.quantize(img, w, h)
	out := e.out[:0]
	// P2=1: pixels not drawn keep their colour (there are none here);
	// "1;1 is a 1:1 aspect ratio, then the raster size.
	out = append(out, "\x1bP0;1;0q\"1;1;"...)
	out = strconv.AppendInt(out, int64(w), 10)
	out = append(out, ';')
	out = strconv.AppendInt(out, int64(h), 10)
	for i, c := range e.palette {
		out = append(out, '#')
		out = strconv.AppendInt(out, int64(i), 10)
		out = append(out, ";2;"...)
		for j, v := range c {
			if j > 0 {
				out = append(out, ';')
			}
			out = strconv.AppendInt(out, int64((int(v)*100+127)/255), 10)
		}
	}
	n := len(e.palette)
	if cap(e.bands) < n*w {
		e.bands = make([]uint8, n*w)
	}
	bands := e.bands[:n*w]
	clear(bands)
	if cap(e.used) < n {
		e.used = make([]bool, n)
	}
	used := e.used[:n]
	clear(used)
	for y0 := 0; y0 < h; y0 += 6 {
		// Only the rows of the colours the band uses are written, and
		// only they are cleared after it.
		list := e.usedList[:0]
		for dy := 0; dy < 6 && y0+dy < h; dy++ {
			row := e.idx[(y0+dy)*w : (y0+dy+1)*w]
			bit := uint8(1) << dy
			for x, c := range row {
				bands[int(c)*w+x] |= bit
				if !used[c] {
					used[c] = true
					list = append(list, int(c))
				}
			}
		}
		slices.Sort(list)
		e.usedList = list
		for i, c := range list {
			if i > 0 {
				out = append(out, '$') // back to the band's start
			}
			out = append(out, '#')
			out = strconv.AppendInt(out, int64(c), 10)
			out = appendSixelRow(out, bands[c*w:(c+1)*w])
			clear(bands[c*w : (c+1)*w])
			used[c] = false
		}
		if y0+6 < h {
			out = append(out, '-') // next band
		}
	}
	out = append(out, "\x1b\\"...)
	e.out = out
	return out
}

// appendSixelRow writes one colour's row of sixels, runs of four or more as
// a repeat, and leaves out its empty tail.
func appendSixelRow(out []byte, row []uint8) []byte {
	end := len(row)
	for end > 0 && row[end-1] == 0 {
		end--
	}
	for i := 0; i < end; {
		j := i + 1
		for j < end && row[j] == row[i] {
			j++
		}
		ch := row[i] + '?'
		if n := j - i; n >= 4 {
			out = append(out, '!')
			out = strconv.AppendInt(out, int64(n), 10)
			out = append(out, ch)
		} else {
			for range n {
				out = append(out, ch)
			}
		}
		i = j
	}
	return out
}

// quantize sets e.palette and e.idx, the palette index of each pixel of
// img scaled to w by h (nearest pixel). The histogram and the table are
// made from img's own pixels, then the indices are scaled, which costs a
// byte a pixel.
func (e *sixelEncoder) quantize(img *image.RGBA, w, h int) {
	clear(e.count[:])
	clear(e.sumR[:])
	clear(e.sumG[:])
	clear(e.sumB[:])
	b := img.Rect
	iw, ih := b.Dx(), b.Dy()
	for y := range ih {
		row := img.Pix[y*img.Stride : y*img.Stride+4*iw]
		for x := 0; x < len(row); x += 4 {
			r, g, bl := row[x], row[x+1], row[x+2]
			bin := int(r>>4)<<8 | int(g>>4)<<4 | int(bl>>4)
			e.count[bin]++
			e.sumR[bin] += uint32(r)
			e.sumG[bin] += uint32(g)
			e.sumB[bin] += uint32(bl)
		}
	}
	e.order = e.order[:0]
	for bin, c := range e.count {
		if c > 0 {
			e.order = append(e.order, bin)
		}
	}
	slices.SortFunc(e.order, func(a, b int) int { return int(e.count[b]) - int(e.count[a]) })
	n := min(256, len(e.order))
	e.palette = e.palette[:0]
	for i, bin := range e.order[:n] {
		c := e.count[bin]
		e.palette = append(e.palette, [3]uint8{uint8(e.sumR[bin] / c), uint8(e.sumG[bin] / c), uint8(e.sumB[bin] / c)})
		e.lut[bin] = uint8(i)
	}
	for _, bin := range e.order[n:] {
		// The bin's centre, matched to the nearest entry.
		r, g, bl := int(bin>>8)<<4|8, int(bin>>4&15)<<4|8, int(bin&15)<<4|8
		best, bestD := 0, 1<<30
		for i, p := range e.palette {
			dr, dg, db := r-int(p[0]), g-int(p[1]), bl-int(p[2])
			if d := dr*dr + dg*dg + db*db; d < bestD {
				best, bestD = i, d
			}
		}
		e.lut[bin] = uint8(best)
	}
	if cap(e.src) < iw*ih {
		e.src = make([]uint8, iw*ih)
	}
	src := e.src[:iw*ih]
	for y := range ih {
		row := img.Pix[y*img.Stride : y*img.Stride+4*iw]
		out := src[y*iw : (y+1)*iw]
		for x := range out {
			o := 4 * x
			out[x] = e.lut[int(row[o]>>4)<<8|int(row[o+1]>>4)<<4|int(row[o+2]>>4)]
		}
	}
	if cap(e.idx) < w*h {
		e.idx = make([]uint8, w*h)
	}
	idx := e.idx[:w*h]
	if w == iw && h == ih {
		copy(idx, src)
		return
	}
	if cap(e.xmap) < w {
		e.xmap = make([]int, w)
	}
	xmap := e.xmap[:w]
	for x := range xmap {
		xmap[x] = x * iw / w
	}
	for y := range h {
		srow := src[(y*ih/h)*iw:]
		out := idx[y*w : (y+1)*w]
		for x, sx := range xmap {
			out[x] = srow[sx]
		}
	}
}

// eachPixel calls f with the index and colour of each pixel of img scaled
// to w by h, nearest pixel, row by row.
func eachPixel(img *image.RGBA, w, h int, f func(i int, r, g, b uint8)) {
	b := img.Rect
	iw, ih := b.Dx(), b.Dy()
	i := 0
	for y := range h {
		sy := y * ih / h
		row := img.Pix[sy*img.Stride:]
		for x := range w {
			o := (x * iw / w) * 4
			f(i, row[o], row[o+1], row[o+2])
			i++
		}
	}
}

package call

import (
	"image"
	"io"
	"math"
	"sync"
	"time"

	"github.com/pion/mediadevices/pkg/wave"
)

// pacer releases one tick at a time in real time and stops when closed.
// The synthetic sources use it so they behave like a camera or a sound card:
// a reader blocks until the next frame is due. Its ticks are those of a
// clock ticking perSecond times a second from the Unix epoch (tickInstant),
// so a tick's index says when it is due, and two pacers of one call agree
// on which tick carries the sync mark (syncmark.go).
type pacer struct {
	perSecond int
	behind    time.Duration // how late a reader may be and still get every tick
	now       func() time.Time
	next      int64 // index of the next tick
	started   bool
	done      chan struct{}
	closeOnce sync.Once
	timer     *time.Timer
}

// newPacer returns a pacer of perSecond ticks that lets a reader fall
// behind by at most 4 ticks: a camera's, whose old frames are worth nothing.
func newPacer(perSecond int) *pacer {
	return newBufferedPacer(perSecond, 4*time.Second/time.Duration(perSecond))
}

// newBufferedPacer returns a pacer that gives a reader up to behind late
// every tick it missed, one after the other at once: a sound card's, which
// buffers what it captured until it is read.
func newBufferedPacer(perSecond int, behind time.Duration) *pacer {
	return &pacer{perSecond: perSecond, behind: behind, now: time.Now, done: make(chan struct{})}
}

// wait blocks until the next tick is due and returns its index; it returns
// false once closed.
func (p *pacer) wait() (int64, bool) {
	now := p.now()
	interval := time.Second / time.Duration(p.perSecond)
	if late := now.Sub(tickInstant(p.next, p.perSecond)); !p.started || late > p.behind || late < -4*interval {
		// First tick, or too far behind (do not burst to catch up), or the
		// wall clock stepped back (do not stall until it is there again):
		// the tick just due, at once. mediadevices reads a frame of each
		// source to learn its format while the call is being set up, so a
		// first read that waited for the next tick held up every call's
		// setup, by up to a frame on each side (BenchmarkCallSetup: p50
		// 124 ms, against 78 ms with the first tick at once).
		p.next = tickAtOrAfter(now, p.perSecond)
		if tickInstant(p.next, p.perSecond).After(now) {
			p.next--
		}
		p.started = true
	}
	if d := tickInstant(p.next, p.perSecond).Sub(now); d > 0 {
		if p.timer == nil {
			p.timer = time.NewTimer(d)
		} else {
			p.timer.Reset(d)
		}
		select {
		case <-p.done:
			p.timer.Stop()
			return 0, false
		case <-p.timer.C:
		}
	} else {
		select {
		case <-p.done:
			return 0, false
		default:
		}
	}
	n := p.next
	p.next++
	return n, true
}

func (p *pacer) close() { p.closeOnce.Do(func() { close(p.done) }) }

// syntheticVideo is a mediadevices VideoSource that draws a smooth moving
// picture with the time written on it. Unlike mediadevices' videotest driver
// it has no random noise, so rate control behaves as with a camera. The
// frame due on a sync mark is white instead (syncmark.go).
type syntheticVideo struct {
	id      string
	w, h    int
	fps     int
	now     func() time.Time
	pace    *pacer
	pattern []byte // triangle-wave luma ramp, len w+512
	frames  [3]*image.YCbCr
	n       int
	start   time.Time
	onClose func()
	once    sync.Once
	// captured, when set, is told each frame's capture instant, its tick's:
	// a reader that is late gets frames of ticks already past.
	captured func(time.Time)
}

func newSyntheticVideo(id string, w, h, fps int, now func() time.Time, onClose func()) *syntheticVideo {
	s := &syntheticVideo{
		id: id, w: w, h: h, fps: fps, now: now, onClose: onClose,
		pace:    newPacer(fps),
		pattern: make([]byte, w+512),
		start:   now(),
	}
	for i := range s.pattern {
		v := i % 512
		if v >= 256 {
			v = 511 - v
		}
		s.pattern[i] = byte(56 + v*120/255)
	}
	for i := range s.frames {
		s.frames[i] = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}
	return s
}

// ID names the source for mediadevices.
func (s *syntheticVideo) ID() string { return s.id }

// Close stops the source; a blocked Read returns io.EOF.
func (s *syntheticVideo) Close() error {
	s.once.Do(func() {
		s.pace.close()
		if s.onClose != nil {
			s.onClose()
		}
	})
	return nil
}

// Read returns the next frame when it is due: the flash on a sync mark.
func (s *syntheticVideo) Read() (image.Image, func(), error) {
	tick, ok := s.pace.wait()
	if !ok {
		return nil, func() {}, io.EOF
	}
	img := s.frames[s.n%len(s.frames)]
	s.n++
	s.frame(img, tick, s.now())
	if s.captured != nil {
		s.captured(tickInstant(tick, s.fps))
	}
	return img, func() {}, nil
}

// frame draws the picture of tick (counted at fps from the Unix epoch) at
// the clock time now: the flash when the tick is a sync mark.
func (s *syntheticVideo) frame(img *image.YCbCr, tick int64, now time.Time) {
	if isMarkTick(tick, s.fps) {
		fillFlash(img)
		return
	}
	s.draw(img, now)
}

func (s *syntheticVideo) draw(img *image.YCbCr, now time.Time) {
	t := now.Sub(s.start).Seconds()
	shift := int(t * 60) // pixels per second the ramp slides
	for y := 0; y < s.h; y++ {
		off := (shift + y/2) % 512
		copy(img.Y[y*img.YStride:y*img.YStride+s.w], s.pattern[off:off+s.w])
	}
	cb := byte(128 + 24*math.Sin(t*0.5))
	cr := byte(128 + 24*math.Cos(t*0.5))
	cw, ch := (s.w+1)/2, (s.h+1)/2
	for y := 0; y < ch; y++ {
		row := img.Cb[y*img.CStride : y*img.CStride+cw]
		for i := range row {
			row[i] = cb
		}
		row = img.Cr[y*img.CStride : y*img.CStride+cw]
		for i := range row {
			row[i] = cr
		}
	}
	// A bright square on a Lissajous path.
	size := s.h / 6 &^ 1
	bx := int(float64(s.w-size) * (0.5 + 0.45*math.Sin(t*0.9)))
	by := int(float64(s.h-size) * (0.5 + 0.40*math.Sin(t*1.3)))
	fillRect(img, bx&^1, by&^1, size, size, 210, 90, 200)
	// The wall-clock time, so latency shows when both screens are side by side.
	scale := max(1, s.h/96)
	text := now.Format("15:04:05.0")
	tw := len(text) * 6 * scale
	tx, ty := (s.w-tw)/2&^1, s.h-10*scale&^1
	fillRect(img, tx-2*scale&^1, ty-2*scale&^1, tw+4*scale, 11*scale, 16, 128, 128)
	drawText(img, tx, ty, scale, text)
}

// fillRect paints a rectangle in one YCbCr colour, clipped to the image.
func fillRect(img *image.YCbCr, x0, y0, w, h int, yv, cb, cr byte) {
	b := img.Rect
	x1, y1 := min(x0+w, b.Max.X), min(y0+h, b.Max.Y)
	x0, y0 = max(x0, 0), max(y0, 0)
	for y := y0; y < y1; y++ {
		row := img.Y[y*img.YStride:]
		for x := x0; x < x1; x++ {
			row[x] = yv
		}
	}
	for y := y0 / 2; y < (y1+1)/2; y++ {
		for x := x0 / 2; x < (x1+1)/2; x++ {
			img.Cb[y*img.CStride+x] = cb
			img.Cr[y*img.CStride+x] = cr
		}
	}
}

// glyph returns the 5x7 bitmap of a clock character, one row of five bits
// per byte, and false for characters the clock does not use.
func glyph(r rune) ([7]byte, bool) {
	switch r {
	case '0':
		return [7]byte{0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}, true
	case '1':
		return [7]byte{0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}, true
	case '2':
		return [7]byte{0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}, true
	case '3':
		return [7]byte{0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}, true
	case '4':
		return [7]byte{0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}, true
	case '5':
		return [7]byte{0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}, true
	case '6':
		return [7]byte{0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}, true
	case '7':
		return [7]byte{0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}, true
	case '8':
		return [7]byte{0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}, true
	case '9':
		return [7]byte{0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}, true
	case ':':
		return [7]byte{0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}, true
	case '.':
		return [7]byte{0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}, true
	}
	return [7]byte{}, false
}

// drawText writes text in white luma with the 5x7 font, scaled.
func drawText(img *image.YCbCr, x, y, scale int, text string) {
	for i, r := range text {
		g, ok := glyph(r)
		if !ok {
			continue
		}
		gx := x + i*6*scale
		for row := 0; row < 7; row++ {
			for col := 0; col < 5; col++ {
				if g[row]&(0x10>>col) == 0 {
					continue
				}
				for dy := 0; dy < scale; dy++ {
					py := y + row*scale + dy
					if py < 0 || py >= img.Rect.Max.Y {
						continue
					}
					for dx := 0; dx < scale; dx++ {
						px := gx + col*scale + dx
						if px >= 0 && px < img.Rect.Max.X {
							img.Y[py*img.YStride+px] = 235
						}
					}
				}
			}
		}
	}
}

// Audio format of the synthetic tone and of captured and played sound.
const (
	audioRate     = 48000
	audioChunk    = 480 // 10 ms at 48 kHz
	toneFrequency = 440.0
)

// syntheticTone is a mediadevices AudioSource producing a quiet 440 Hz sine,
// 48 kHz mono, in 10 ms chunks paced in real time, with a loud burst on
// each sync mark (syncmark.go).
type syntheticTone struct {
	id      string
	pace    *pacer
	onClose func()
	once    sync.Once
	// captured, when set, is told the capture instant of each chunk's
	// first sample.
	captured func(time.Time)
}

// chunksPerSecond is the tone's pacing: one audioChunk at a time.
const chunksPerSecond = audioRate / audioChunk

// toneBuffer is how late a reader of the tone may be and still get every
// chunk it missed. On a loaded machine (two cores, load average 12) the
// reader was 40 to 200 ms late about once every 2 s. Given all it missed,
// in a burst, a Chromium receiver's jitter buffer took each burst for
// network jitter and grew with each: the sound was heard 105 ms after
// capture at the start of a call and 470 ms after it 26 s later. So sound
// that late is dropped, as a sound card whose buffer overran drops it, and
// the gap shows in the RTP timestamps (captureclock.go), which the receiver
// conceals, its delay unchanged.
const toneBuffer = 4 * time.Second / chunksPerSecond

func newSyntheticTone(id string, onClose func()) *syntheticTone {
	return &syntheticTone{id: id, pace: newBufferedPacer(chunksPerSecond, toneBuffer), onClose: onClose}
}

// ID names the source for mediadevices.
func (s *syntheticTone) ID() string { return s.id }

// Close stops the source; a blocked Read returns io.EOF.
func (s *syntheticTone) Close() error {
	s.once.Do(func() {
		s.pace.close()
		if s.onClose != nil {
			s.onClose()
		}
	})
	return nil
}

// Read returns the next 10 ms of tone when it is due: as a sound card
// does, once its last sample has been captured. The chunk of tick n holds
// the samples of the 10 ms up to tick n's instant, (n-1)*audioChunk on
// (counted from the Unix epoch), so its marks fall on the same instants as
// the picture's, and a chunk's capture is its return less its length for
// this source as for a microphone (captureclock.go relies on it).
func (s *syntheticTone) Read() (wave.Audio, func(), error) {
	tick, ok := s.pace.wait()
	if !ok {
		return nil, func() {}, io.EOF
	}
	chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: audioChunk, Channels: 1, SamplingRate: audioRate})
	first := (tick - 1) * audioChunk
	if s.captured != nil {
		s.captured(tickInstant(tick-1, chunksPerSecond))
	}
	for i := range chunk.Data {
		chunk.Data[i] = toneSampleAt(first + int64(i))
	}
	return chunk, func() {}, nil
}

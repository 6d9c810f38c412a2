package call

import (
	"image"
	"log/slog"
	"math"
	"sync"
	"time"
)

// The sync mark. Every syncPeriod the synthetic picture is one white frame
// and the tone a short loud burst, both at the same capture instant, so
// that the far side can measure how far apart it presents sound and
// picture (lip sync). The marks fall on a schedule both sources derive from
// one clock and one epoch: the wall clock, and instants that are whole
// multiples of syncPeriod since the Unix epoch. Each source ticks on a grid
// of that epoch (tickInstant), so its frame or chunk index alone says
// whether it carries a mark; the two never keep time apart. The clips
// (clip.go) start on a mark and last a whole number of periods, so they
// loop with the marks in place.
const (
	syncPeriod = 2 * time.Second
	// The burst replaces the tone for markBurst: a sine at markFrequency
	// and markAmplitude, 13 dB above the tone, with a sharp onset, so that
	// it is found by a rise of energy after Opus (TestClickIsFoundAfterOpus)
	// and after a browser's echo canceller, noise suppressor and gain
	// control (the side-by-side benchmark finds it in what a Chromium peer
	// playing the clip sends, with its default audio processing on). Short
	// enough to fall silent well before the next mark.
	markBurst     = 40 * time.Millisecond
	markFrequency = 1000
	markAmplitude = 0.9
	// markLuma is the flash frame's luma (Y, BT.601 video range white).
	markLuma = 235
)

// tickInstant is the instant of tick n of a clock that ticks perSecond
// times a second from the Unix epoch: n/perSecond seconds, rounded down to
// the nanosecond, computed without overflowing int64 (n*1e9 would).
func tickInstant(n int64, perSecond int) time.Time {
	p := int64(perSecond)
	return time.Unix(n/p, n%p*int64(time.Second)/p)
}

// tickAtOrAfter returns the first tick of that clock whose instant is not
// before t.
func tickAtOrAfter(t time.Time, perSecond int) int64 {
	p := int64(perSecond)
	ns := int64(t.Nanosecond())
	return t.Unix()*p + (ns*p+int64(time.Second)-1)/int64(time.Second)
}

// isMarkTick reports whether tick n of a clock ticking perSecond times a
// second falls on a sync mark.
func isMarkTick(n int64, perSecond int) bool {
	every := int64(syncPeriod/time.Second) * int64(perSecond)
	return n%every == 0
}

// markSamples is the length of the burst in samples at audioRate.
const markSamples = int64(markBurst * audioRate / time.Second)

// toneSampleAt is sample m (counted at audioRate from the Unix epoch) of the
// synthetic tone with its marks: the burst for markSamples from every mark,
// the quiet tone elsewhere. Both sines are computed from the sample index
// with whole-number cycles per second, so the phase is exact whatever m is.
func toneSampleAt(m int64) int16 {
	period := int64(syncPeriod/time.Second) * audioRate
	if off := m % period; off < markSamples {
		c := float64(off*markFrequency%audioRate) / audioRate
		return int16(markAmplitude * math.MaxInt16 * math.Sin(2*math.Pi*c))
	}
	c := float64(m%audioRate*toneFrequency%audioRate) / audioRate
	return int16(0.2 * math.MaxInt16 * math.Sin(2*math.Pi*c))
}

// fillFlash paints the whole picture in the flash's white.
func fillFlash(img *image.YCbCr) {
	for i := range img.Y {
		img.Y[i] = markLuma
	}
	for i := range img.Cb {
		img.Cb[i] = 128
	}
	for i := range img.Cr {
		img.Cr[i] = 128
	}
}

// pictureLuma estimates a picture's mean luma from every 8th pixel of every 8th
// row: enough to tell the flash (markLuma everywhere) from the picture
// (about 120 on average), for a few microseconds per frame.
func pictureLuma(img *image.YCbCr) float64 {
	b := img.Rect
	var sum, n int
	for y := b.Min.Y; y < b.Max.Y; y += 8 {
		row := img.Y[(y-b.Min.Y)*img.YStride:]
		for x := 0; x < b.Dx(); x += 8 {
			sum += int(row[x])
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(sum) / float64(n)
}

// flashDetector finds the flash in a sequence of pictures: the first
// picture whose mean luma is over flashLuma after one that was not.
type flashDetector struct{ lit bool }

// flashLuma is halfway between the picture's mean and the flash's, with
// room for a coarse quantizer's error on either.
const flashLuma = 190

// frame reports whether the picture starts a flash.
func (d *flashDetector) frame(img *image.YCbCr) bool {
	lit := pictureLuma(img) > flashLuma
	start := lit && !d.lit
	d.lit = lit
	return start
}

// clickDetector finds the burst in decoded audio by its onset of energy:
// the first 1 ms block whose RMS is clickRise times the RMS of the 100 ms
// before it, and over clickFloor, at most once per refractory period. A
// relative threshold keeps it working whatever gain a browser's automatic
// gain control applied; the floor keeps noise after silence from counting.
type clickDetector struct {
	hist      [100]float64 // mean square of the last 100 blocks, a ring
	next      int
	filled    int
	block     float64 // sum of squares of the block being filled
	blockLen  int
	sinceLast int64 // samples since the last onset (or since the start)
}

const (
	clickBlock      = audioRate / 1000 // 1 ms
	clickRise       = 3.0              // in RMS, about 9.5 dB
	clickFloor      = 0.05             // RMS, -26 dBFS
	clickRefractory = audioRate        // 1 s in samples: marks are 2 s apart
)

// feed runs the detector over pcm and returns the index in pcm of the first
// sample of the block where an onset was found (negative when that block
// began in an earlier call), and whether one was.
func (d *clickDetector) feed(pcm []float32) (int, bool) {
	found, ok := 0, false
	for i, s := range pcm {
		d.block += float64(s) * float64(s)
		d.blockLen++
		d.sinceLast++
		if d.blockLen < clickBlock {
			continue
		}
		ms := d.block / clickBlock
		d.block, d.blockLen = 0, 0
		if d.filled == len(d.hist) && !ok && d.sinceLast > clickRefractory {
			var base float64
			for _, v := range d.hist {
				base += v
			}
			base /= float64(len(d.hist))
			rms := math.Sqrt(ms)
			if rms > clickFloor && rms > clickRise*math.Sqrt(base) {
				found, ok = i-clickBlock+1, true
				d.sinceLast = int64(clickBlock)
			}
		}
		d.hist[d.next] = ms
		d.next = (d.next + 1) % len(d.hist)
		d.filled = min(d.filled+1, len(d.hist))
	}
	return found, ok
}

// syncMeter pairs the flashes and clicks a call receives and reports each
// pair's offset, audio minus video (positive: the sound is late). Video and
// audio are decoded on two goroutines; each hands over the instant it found
// a mark at, and the meter pairs marks less than half a period apart.
type syncMeter struct {
	report func(offset time.Duration, video, audio time.Time)

	mu           sync.Mutex
	video, audio time.Time // the latest unpaired mark of each, or zero
	offsets      []time.Duration
}

func newSyncMeter(report func(offset time.Duration, video, audio time.Time)) *syncMeter {
	return &syncMeter{report: report}
}

// newLipSyncMeter is a call's meter: one Info line in the log for each mark
// measured, which is how a benchmark reads it from the running program (the
// console writes nothing else anywhere while its screen is up).
func newLipSyncMeter(log *slog.Logger) *syncMeter {
	return newSyncMeter(func(offset time.Duration, video, audio time.Time) {
		log.Info("lip sync", "offset_ms", float64(offset.Microseconds())/1000,
			"video_at", video.UnixMicro(), "audio_at", audio.UnixMicro())
	})
}

// maxSyncSkew is how far apart a flash and a click may be and still be
// taken for one mark.
const maxSyncSkew = syncPeriod / 2

// videoMark records a flash made available for display at t.
func (m *syncMeter) videoMark(t time.Time) { m.mark(t, true) }

// audioMark records a click handed to playback at t.
func (m *syncMeter) audioMark(t time.Time) { m.mark(t, false) }

func (m *syncMeter) mark(t time.Time, isVideo bool) {
	m.mu.Lock()
	mine, other := &m.audio, &m.video
	if isVideo {
		mine, other = &m.video, &m.audio
	}
	var paired bool
	var v, a time.Time
	if !other.IsZero() && absDuration(t.Sub(*other)) < maxSyncSkew {
		paired = true
		if isVideo {
			v, a = t, *other
		} else {
			v, a = *other, t
		}
		*other = time.Time{}
		*mine = time.Time{}
		m.offsets = append(m.offsets, a.Sub(v))
	} else {
		*mine = t
	}
	m.mu.Unlock()
	if paired && m.report != nil {
		m.report(a.Sub(v), v, a)
	}
}

// measured returns the offsets measured so far, in order.
func (m *syncMeter) measured() []time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]time.Duration(nil), m.offsets...)
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

package call

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWriteSyntheticVideoIsAY4MClipThatMoves(t *testing.T) {
	const w, h, fps, n = 64, 48, 30, 60 // one sync period
	var out bytes.Buffer
	if err := WriteSyntheticVideo(&out, w, h, fps, n); err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(out.String(), "\n")
	if !ok {
		t.Fatal("no header line")
	}
	want := fmt.Sprintf("YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg", w, h, fps)
	if header != want {
		t.Fatalf("header %q, want %q", header, want)
	}
	frameSize := w*h + 2*(w/2)*(h/2)
	if got, want := len(body), n*(len("FRAME\n")+frameSize); got != want {
		t.Fatalf("body is %d bytes, want %d (%d frames of %d)", got, want, n, frameSize)
	}
	frames := make([]string, n)
	for i := range frames {
		rec := body[i*(6+frameSize) : (i+1)*(6+frameSize)]
		if !strings.HasPrefix(rec, "FRAME\n") {
			t.Fatalf("frame %d does not start with FRAME", i)
		}
		frames[i] = rec[6:]
	}
	// The picture slides: consecutive frames (1/30 s apart, 2 pixels) differ,
	// so an encoder has real work, as with the live synthetic camera.
	for i := 1; i < n; i++ {
		if frames[i] == frames[i-1] {
			t.Errorf("frame %d is the same as frame %d", i, i-1)
		}
	}
	// Each frame is the picture the engine itself draws at that moment,
	// and the first, on the sync mark, is the flash.
	live := newSyntheticVideo("live", w, h, fps, clipStart, nil)
	img := live.frames[0]
	for i, f := range frames {
		if i == 0 {
			fillFlash(img)
		} else {
			live.draw(img, clipStart().Add(time.Duration(i)*time.Second/fps))
		}
		var want bytes.Buffer
		for y := range h {
			want.Write(img.Y[y*img.YStride : y*img.YStride+w])
		}
		for _, plane := range [][]byte{img.Cb, img.Cr} {
			for y := range h / 2 {
				want.Write(plane[y*img.CStride : y*img.CStride+w/2])
			}
		}
		if f != want.String() {
			t.Errorf("frame %d differs from the engine's picture at %v", i, time.Duration(i)*time.Second/fps)
		}
	}
}

func TestWriteSyntheticVideoRejectsBadSizes(t *testing.T) {
	for _, c := range [][4]int{{0, 48, 30, 60}, {63, 48, 30, 60}, {64, 47, 30, 60}, {64, 48, 0, 60}, {64, 48, 30, 0}, {64, 48, 30, 5}, {64, 48, 30, 90}} {
		var out bytes.Buffer
		if err := WriteSyntheticVideo(&out, c[0], c[1], c[2], c[3]); err == nil {
			t.Errorf("%v: no error", c)
		}
		if out.Len() != 0 {
			t.Errorf("%v: wrote %d bytes before refusing", c, out.Len())
		}
	}
}

func TestWriteSyntheticToneIsA48kMonoWAVOf440Hz(t *testing.T) {
	var out bytes.Buffer
	if err := WriteSyntheticTone(&out, syncPeriod); err != nil {
		t.Fatal(err)
	}
	b := out.Bytes()
	const samples = 2 * audioRate
	if len(b) != 44+2*samples {
		t.Fatalf("file is %d bytes, want %d", len(b), 44+2*samples)
	}
	le := binary.LittleEndian
	if string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" {
		t.Fatalf("chunk tags wrong: %q", b[:40])
	}
	if got := le.Uint32(b[4:]); got != uint32(len(b)-8) {
		t.Errorf("RIFF size %d, want %d", got, len(b)-8)
	}
	if fmtTag, ch, rate, bits := le.Uint16(b[20:]), le.Uint16(b[22:]), le.Uint32(b[24:]), le.Uint16(b[34:]); fmtTag != 1 || ch != 1 || rate != audioRate || bits != 16 {
		t.Errorf("format %d, %d channels, %d Hz, %d bits; want PCM mono 48000 Hz 16 bits", fmtTag, ch, rate, bits)
	}
	if got := le.Uint32(b[40:]); got != 2*samples {
		t.Errorf("data size %d, want %d", got, 2*samples)
	}
	// The second second (the burst is at the start of the first) of a 440
	// Hz sine crosses zero upwards 440 times.
	ups, peak := 0, 0
	prev := int16(le.Uint16(b[44+2*audioRate:]))
	for i := 46 + 2*audioRate; i < len(b); i += 2 {
		v := int16(le.Uint16(b[i:]))
		if prev < 0 && v >= 0 {
			ups++
		}
		peak = max(peak, int(v))
		prev = v
	}
	if ups < 438 || ups > 441 {
		t.Errorf("%d upward zero crossings in 1 s, want 440", ups)
	}
	if peak < 6000 {
		t.Errorf("peak %d: the tone is near silent", peak)
	}
}

func TestWriteSyntheticToneRejectsEmptyAndPartPeriods(t *testing.T) {
	for _, d := range []time.Duration{0, time.Second, 3 * time.Second} {
		if err := WriteSyntheticTone(&bytes.Buffer{}, d); err == nil {
			t.Errorf("no error for a tone of %v", d)
		}
	}
}

// TestClipsMarkTheSameInstantsAndLoop: in the 4 s clips the benchmark gives
// Chromium, the picture flashes on the frames and the tone bursts on the
// samples of the same instants, every 2 s from the start, so that each
// file, looped on its own, keeps its marks 2 s apart.
func TestClipsMarkTheSameInstantsAndLoop(t *testing.T) {
	const w, h, fps, d = 64, 48, 30, 4 * time.Second
	var vid, wav bytes.Buffer
	if err := WriteSyntheticVideo(&vid, w, h, fps, int(d/time.Second)*fps); err != nil {
		t.Fatal(err)
	}
	if err := WriteSyntheticTone(&wav, d); err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(vid.String(), "\n")
	frameSize := 6 + w*h + 2*(w/2)*(h/2)
	var flashes []time.Duration
	var det flashDetector
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := 0; (i+1)*frameSize <= len(body); i++ {
		copy(img.Y, body[i*frameSize+6:])
		if det.frame(img) {
			flashes = append(flashes, time.Duration(i)*time.Second/fps)
		}
	}
	pcm := wav.Bytes()[44:]
	var clicks []time.Duration
	lastLoud := -audioRate
	for j := 0; 2*j+1 < len(pcm); j++ {
		v := int(int16(binary.LittleEndian.Uint16(pcm[2*j:])))
		if v < math.MaxInt16/2 && v > -math.MaxInt16/2 {
			continue // the tone is never this loud
		}
		if j-lastLoud > audioRate/10 {
			// The burst's sine starts at phase 0; its first loud sample
			// comes within a cycle of the mark.
			at := time.Duration(j) * time.Second / audioRate
			clicks = append(clicks, at.Truncate(time.Second/markFrequency))
		}
		lastLoud = j
	}
	want := []time.Duration{0, syncPeriod}
	if !slices.Equal(flashes, want) || !slices.Equal(clicks, want) {
		t.Errorf("flashes at %v, clicks at %v; want both at %v", flashes, clicks, want)
	}
}

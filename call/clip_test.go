package call

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestWriteSyntheticVideoIsAY4MClipThatMoves(t *testing.T) {
	const w, h, fps, n = 64, 48, 30, 5
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
	// Each frame is the picture the engine itself draws at that moment.
	live := newSyntheticVideo("live", w, h, fps, clipStart, nil)
	img := live.frames[0]
	for i, f := range frames {
		live.draw(img, clipStart().Add(time.Duration(i)*time.Second/fps))
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
	for _, c := range [][4]int{{0, 48, 30, 1}, {63, 48, 30, 1}, {64, 47, 30, 1}, {64, 48, 0, 1}, {64, 48, 30, 0}} {
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
	if err := WriteSyntheticTone(&out, time.Second); err != nil {
		t.Fatal(err)
	}
	b := out.Bytes()
	if len(b) != 44+2*audioRate {
		t.Fatalf("file is %d bytes, want %d", len(b), 44+2*audioRate)
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
	if got := le.Uint32(b[40:]); got != 2*audioRate {
		t.Errorf("data size %d, want %d", got, 2*audioRate)
	}
	// One second of a 440 Hz sine crosses zero upwards 440 times.
	ups, peak := 0, 0
	prev := int16(le.Uint16(b[44:]))
	for i := 46; i < len(b); i += 2 {
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

func TestWriteSyntheticToneRejectsEmpty(t *testing.T) {
	if err := WriteSyntheticTone(&bytes.Buffer{}, 0); err == nil {
		t.Fatal("no error for a zero-length tone")
	}
}

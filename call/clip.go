package call

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// WriteSyntheticVideo writes frames of the synthetic picture, the one the
// engine sends without a camera, at w by h and fps as a YUV4MPEG2 (.y4m)
// clip: the format a browser's fake camera reads (Chromium's
// --use-file-for-fake-video-capture). A browser peer then sends exactly the
// pictures the console sends, which is what a fair comparison of the two
// encoders needs: how much a VP8 encoder works depends on how much of the
// picture moves. The clip starts on a sync mark and frames must be a whole
// number of sync periods (2 s), so that the browser, which loops the clip,
// flashes every 2 s as the engine does (syncmark.go).
func WriteSyntheticVideo(out io.Writer, w, h, fps, frames int) error {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || fps <= 0 || frames <= 0 {
		return fmt.Errorf("call: synthetic clip of %d frames at %dx%d, %d fps: need positive even sizes and counts", frames, w, h, fps)
	}
	if period := int(syncPeriod/time.Second) * fps; frames%period != 0 {
		return fmt.Errorf("call: synthetic clip of %d frames at %d fps: need a multiple of %d (%v) to loop with its sync marks", frames, fps, period, syncPeriod)
	}
	start := clipStart()
	s := newSyntheticVideo("clip", w, h, fps, clipStart, nil)
	img := s.frames[0]
	first := tickAtOrAfter(start, fps)
	bw := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", w, h, fps)
	cw, ch := w/2, h/2
	for i := range frames {
		tick := first + int64(i)
		s.frame(img, tick, tickInstant(tick, fps))
		bw.WriteString("FRAME\n")
		for y := range h {
			bw.Write(img.Y[y*img.YStride : y*img.YStride+w])
		}
		for _, plane := range [][]byte{img.Cb, img.Cr} {
			for y := range ch {
				bw.Write(plane[y*img.CStride : y*img.CStride+cw])
			}
		}
	}
	return bw.Flush()
}

// clipStart is the clock time of a clip's first frame: fixed, so that a clip
// is the same file on every run, and a whole number of sync periods from
// the Unix epoch, so that it starts on a mark.
func clipStart() time.Time { return time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC) }

// WriteSyntheticTone writes d of the synthetic tone, the sound the engine
// sends without a microphone, as a 16-bit mono WAV at 48 kHz: the format of
// Chromium's --use-file-for-fake-audio-capture (see WriteSyntheticVideo).
// Like the picture it starts on a sync mark, and d must be a whole number of
// sync periods.
func WriteSyntheticTone(out io.Writer, d time.Duration) error {
	samples := int(d.Seconds() * audioRate)
	if samples <= 0 {
		return errors.New("call: synthetic tone: duration too short")
	}
	if d%syncPeriod != 0 {
		return fmt.Errorf("call: synthetic tone of %v: need a multiple of %v to loop with its sync marks", d, syncPeriod)
	}
	first := tickAtOrAfter(clipStart(), audioRate)
	bw := bufio.NewWriter(out)
	data := uint32(samples * 2)
	le := binary.LittleEndian
	hdr := make([]byte, 0, 44)
	hdr = append(hdr, "RIFF"...)
	hdr = le.AppendUint32(hdr, 36+data)
	hdr = append(hdr, "WAVEfmt "...)
	hdr = le.AppendUint32(hdr, 16)          // fmt chunk size
	hdr = le.AppendUint16(hdr, 1)           // PCM
	hdr = le.AppendUint16(hdr, 1)           // mono
	hdr = le.AppendUint32(hdr, audioRate)   // sample rate
	hdr = le.AppendUint32(hdr, audioRate*2) // bytes per second
	hdr = le.AppendUint16(hdr, 2)           // block align
	hdr = le.AppendUint16(hdr, 16)          // bits per sample
	hdr = append(hdr, "data"...)
	hdr = le.AppendUint32(hdr, data)
	bw.Write(hdr)
	buf := make([]byte, 2)
	for i := range samples {
		le.PutUint16(buf, uint16(toneSampleAt(first+int64(i))))
		bw.Write(buf)
	}
	return bw.Flush()
}

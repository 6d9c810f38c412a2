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
// picture moves.
func WriteSyntheticVideo(out io.Writer, w, h, fps, frames int) error {
	if w <= 0 || h <= 0 || w%2 != 0 || h%2 != 0 || fps <= 0 || frames <= 0 {
		return fmt.Errorf("call: synthetic clip of %d frames at %dx%d, %d fps: need positive even sizes and counts", frames, w, h, fps)
	}
	start := clipStart()
	s := newSyntheticVideo("clip", w, h, fps, clipStart, nil)
	img := s.frames[0]
	bw := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F%d:1 Ip A1:1 C420jpeg\n", w, h, fps)
	cw, ch := w/2, h/2
	for i := range frames {
		s.draw(img, start.Add(time.Duration(i)*time.Second/time.Duration(fps)))
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
// is the same file on every run.
func clipStart() time.Time { return time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC) }

// WriteSyntheticTone writes d of the synthetic tone, the sound the engine
// sends without a microphone, as a 16-bit mono WAV at 48 kHz: the format of
// Chromium's --use-file-for-fake-audio-capture (see WriteSyntheticVideo).
func WriteSyntheticTone(out io.Writer, d time.Duration) error {
	samples := int(d.Seconds() * audioRate)
	if samples <= 0 {
		return errors.New("call: synthetic tone: duration too short")
	}
	s := newSyntheticTone("clip", nil)
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
	for range samples {
		le.PutUint16(buf, uint16(s.sample()))
		bw.Write(buf)
	}
	return bw.Flush()
}

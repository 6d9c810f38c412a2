package call

import (
	"image"
	"io"
	"testing"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/prop"
)

// pictures is a video.Reader of moving I420 test pictures whose size can
// change between reads.
type pictures struct {
	n    int
	w, h int
}

func (p *pictures) Read() (image.Image, func(), error) {
	img := image.NewYCbCr(image.Rect(0, 0, p.w, p.h), image.YCbCrSubsampleRatio420)
	seed := uint32(p.n*7919 + 1)
	for y := range p.h {
		for x := range p.w {
			seed = seed*1664525 + 1013904223 // texture the encoder must spend bits on
			img.Y[y*img.YStride+x] = byte(x+y+4*p.n) ^ byte(seed>>28)
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = byte(128+p.n), byte(128-p.n)
	}
	p.n++
	return img, func() {}, nil
}

// isKeyFrame reads the VP8 frame tag (RFC 6386 section 9.1): bit 0 of the
// first byte is 0 for a key frame.
func isKeyFrame(frame []byte) bool { return len(frame) > 0 && frame[0]&1 == 0 }

func encodeN(t testing.TB, e *vp8Encoder, n int) (frames [][]byte, bytes int) {
	t.Helper()
	for range n {
		f, release, err := e.Read()
		if err != nil {
			t.Fatal(err)
		}
		release()
		frames = append(frames, f)
		bytes += len(f)
	}
	return frames, bytes
}

func TestVP8EncoderFramesDecodeAndObeyControls(t *testing.T) {
	src := &pictures{w: 320, h: 240}
	e, err := newVP8Encoder(src, prop.Media{Video: prop.Video{Width: 320, Height: 240, FrameRate: 30}}, 800_000, 0)
	if err != nil {
		t.Fatal(err)
	}
	frames, _ := encodeN(t, e, 30)
	if !isKeyFrame(frames[0]) {
		t.Fatal("the first frame is not a key frame")
	}
	for i, f := range frames[1:] {
		if isKeyFrame(f) {
			t.Fatalf("frame %d is a key frame with none asked for", i+1)
		}
	}
	if err := e.ForceKeyFrame(); err != nil {
		t.Fatal(err)
	}
	if frames, _ = encodeN(t, e, 1); !isKeyFrame(frames[0]) {
		t.Fatal("ForceKeyFrame did not give a key frame")
	}

	// The decoder the engine uses reads what the encoder writes.
	dec := newFrameDecoder(t, frames[0])
	if b := dec.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Fatalf("decoded %v, want 320x240", b)
	}

	// A lower target gives fewer bytes for the same pictures.
	_, high := encodeN(t, e, 60)
	if err := e.SetBitRate(100_000); err != nil {
		t.Fatal(err)
	}
	_, low := encodeN(t, e, 60)
	if low*2 > high {
		t.Fatalf("60 frames took %d bytes at 800 kbit/s and %d at 100 kbit/s; want well under half", high, low)
	}

	// A new picture size reopens the encoder with a key frame.
	src.w, src.h = 160, 120
	if frames, _ = encodeN(t, e, 1); !isKeyFrame(frames[0]) {
		t.Fatal("the first frame at a new size is not a key frame")
	}
	if b := newFrameDecoder(t, frames[0]).Bounds(); b.Dx() != 160 || b.Dy() != 120 {
		t.Fatalf("decoded %v after the resize, want 160x120", b)
	}

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Read(); err != io.EOF {
		t.Fatalf("Read after Close: %v, want io.EOF", err)
	}
}

// oneFrame is an io.Reader giving one whole VP8 frame per Read, as the vpx
// decoder wants (docs/stack.md, "mediadevices").
type oneFrame struct{ frame []byte }

func (o *oneFrame) Read(p []byte) (int, error) {
	if o.frame == nil {
		return 0, io.EOF
	}
	n := copy(p, o.frame)
	o.frame = nil
	return n, nil
}

// newFrameDecoder decodes one key frame with the engine's decoder.
func newFrameDecoder(t *testing.T, frame []byte) image.Image {
	t.Helper()
	dec, err := vpx.NewDecoder(&oneFrame{frame: frame}, prop.Media{})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	img, release, err := dec.Read()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	defer release()
	return img
}

func TestVP8SpeedByMachineAndPicture(t *testing.T) {
	cases := []struct{ cores, w, h, want int }{
		{2, 640, 480, -12}, // a small clinic PC: fastest that still looks right
		{1, 640, 480, -12},
		{8, 640, 480, -6}, // libwebrtc's desktop speed
		{2, 320, 240, -4}, // under CIF: cheap, so better quality
		{8, 176, 144, -4},
	}
	for _, c := range cases {
		if got := vp8Speed(c.cores, c.w, c.h); got != c.want {
			t.Errorf("vp8Speed(%d cores, %dx%d) = %d, want %d", c.cores, c.w, c.h, got, c.want)
		}
	}
}

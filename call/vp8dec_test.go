package call

import (
	"image"
	"math"
	"testing"

	"github.com/pion/mediadevices/pkg/prop"
)

// encodePictures encodes n of src's pictures at w x h and returns the frames
// with the pictures they came from.
func encodePictures(t testing.TB, w, h, n int) (frames [][]byte, pics []*image.YCbCr) {
	t.Helper()
	src := &pictures{w: w, h: h}
	for i := range n {
		p := &pictures{n: i, w: w, h: h} // the same picture src gives at i
		img, _, _ := p.Read()
		pics = append(pics, img.(*image.YCbCr))
	}
	e, err := newVP8Encoder(src, prop.Media{Video: prop.Video{Width: w, Height: h, FrameRate: 30}}, 2_000_000, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	frames, _ = encodeN(t, e, n)
	return frames, pics
}

// meanLumaError is the mean absolute difference of two pictures' luma.
func meanLumaError(a, b *image.YCbCr) float64 {
	var sum int
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := range h {
		for x := range w {
			d := int(a.Y[y*a.YStride+x]) - int(b.Y[y*b.YStride+x])
			sum += max(d, -d)
		}
	}
	return float64(sum) / float64(w*h)
}

// openVP8Decoder returns a decoder closed when the test ends.
func openVP8Decoder(t *testing.T) *vp8Decoder {
	t.Helper()
	dec, err := newVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.close)
	return dec
}

func TestVP8DecoderDecodesIntoTheSamePicture(t *testing.T) {
	frames, pics := encodePictures(t, 320, 240, 10)
	dec := openVP8Decoder(t)

	var dst *image.YCbCr
	for i, f := range frames {
		img, err := dec.decode(f, dst)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if b := img.Rect; b.Min != (image.Point{}) || b.Dx() != 320 || b.Dy() != 240 {
			t.Fatalf("frame %d decoded as %v, want 320x240 at 0,0", i, b)
		}
		if dst != nil && img != dst {
			t.Fatalf("frame %d: a new picture although the one given had the right size", i)
		}
		dst = img
		// The decoded picture is the source picture, give or take the
		// encoder's loss; a picture from another frame is far off.
		if e := meanLumaError(img, pics[i]); e > 6 {
			t.Errorf("frame %d: mean luma error %.1f, want under 6", i, e)
		}
	}
	if e := meanLumaError(dst, pics[0]); e < 6 {
		t.Fatalf("the last picture is as close to the first (%.1f) as to itself: the test pictures do not move", e)
	}

	// Decoding into a picture of the right size allocates nothing.
	// AllocsPerRun counts every goroutine's allocations, and goroutines of
	// earlier tests may still be ending: the least of three runs is ours.
	more, _ := encodePictures(t, 320, 240, 60)
	i := 0
	allocs := math.Inf(1)
	for range 3 {
		allocs = min(allocs, testing.AllocsPerRun(19, func() {
			if _, err := dec.decode(more[i], dst); err != nil {
				t.Fatal(err)
			}
			i++
		}))
	}
	if allocs != 0 {
		t.Errorf("%.1f allocations per decoded frame, want 0", allocs)
	}
}

func TestVP8DecoderFollowsSizeChanges(t *testing.T) {
	big, _ := encodePictures(t, 320, 240, 1)
	small, _ := encodePictures(t, 160, 120, 1)
	dec := openVP8Decoder(t)
	first, err := dec.decode(big[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := dec.decode(small[0], first)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || second.Rect.Dx() != 160 || second.Rect.Dy() != 120 {
		t.Fatalf("after a 160x120 key frame: %v (same picture: %v)", second.Rect, second == first)
	}
	if first.Rect.Dx() != 320 {
		t.Fatalf("the 320x240 picture handed back was changed to %v", first.Rect)
	}
}

func TestVP8DecoderRefusesBadInputAndRecovers(t *testing.T) {
	frames, pics := encodePictures(t, 320, 240, 1)
	dec := openVP8Decoder(t)
	if _, err := dec.decode(nil, nil); err == nil {
		t.Error("no error for an empty frame")
	}
	garbage := make([]byte, 3000)
	for i := range garbage {
		garbage[i] = byte(i*131 + 7)
	}
	garbage[0] = 0x10 // looks like a key frame, the start code is wrong
	if _, err := dec.decode(garbage, nil); err == nil {
		t.Error("no error for a frame of garbage")
	}
	if _, err := dec.decode(frames[0][:len(frames[0])/3], nil); err == nil {
		t.Error("no error for a key frame cut to a third")
	}
	img, err := dec.decode(frames[0], nil)
	if err != nil {
		t.Fatalf("a whole key frame after bad ones: %v", err)
	}
	if e := meanLumaError(img, pics[0]); e > 6 {
		t.Errorf("mean luma error %.1f after recovering, want under 6", e)
	}
	dec.close()
	if _, err := dec.decode(frames[0], nil); err == nil {
		t.Error("decode after close gave no error")
	}
}

func BenchmarkVP8Decode(b *testing.B) {
	frames, _ := encodePictures(b, 640, 480, 30)
	dec, err := newVP8Decoder()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { dec.close() }()
	var dst *image.YCbCr
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i > 0 && i%len(frames) == 0 { // back to the key frame
			dec.close()
			if dec, err = newVP8Decoder(); err != nil {
				b.Fatal(err)
			}
		}
		if dst, err = dec.decode(frames[i%len(frames)], dst); err != nil {
			b.Fatal(err)
		}
	}
}

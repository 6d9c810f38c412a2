package call

import (
	"image"
	"image/color"
	"testing"
)

// yuvFrame returns a w by h 4:2:0 frame whose pixel (x, y) is at(x, y); each
// chroma sample is that of the last pixel of its 2x2 block.
func yuvFrame(w, h int, at func(x, y int) color.YCbCr) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			c := at(x, y)
			img.Y[img.YOffset(x, y)] = c.Y
			ci := img.COffset(x, y)
			img.Cb[ci], img.Cr[ci] = c.Cb, c.Cr
		}
	}
	return img
}

func TestDisplayScale(t *testing.T) {
	for _, tc := range []struct{ w, h, k int }{
		{160, 120, 1}, {320, 240, 1}, {480, 360, 1}, {640, 480, 2},
		{641, 481, 2}, {1280, 720, 3}, {1920, 1080, 4}, {320, 1000, 1},
	} {
		if k := displayScale(tc.w, tc.h); k != tc.k {
			t.Errorf("displayScale(%d, %d) = %d, want %d", tc.w, tc.h, k, tc.k)
		}
	}
}

// TestDisplayFrameColour: at every scale the studio-range (BT.601) colour
// bars come out as the colours they stand for.
func TestDisplayFrameColour(t *testing.T) {
	bars := []struct {
		in   color.YCbCr
		want color.RGBA
	}{
		{color.YCbCr{Y: 81, Cb: 90, Cr: 240}, color.RGBA{255, 0, 0, 255}},
		{color.YCbCr{Y: 145, Cb: 54, Cr: 34}, color.RGBA{0, 255, 0, 255}},
		{color.YCbCr{Y: 41, Cb: 240, Cr: 110}, color.RGBA{0, 0, 255, 255}},
		{color.YCbCr{Y: 235, Cb: 128, Cr: 128}, color.RGBA{255, 255, 255, 255}},
		{color.YCbCr{Y: 16, Cb: 128, Cr: 128}, color.RGBA{0, 0, 0, 255}},
	}
	near := func(a, b uint8) bool { return int(a)-int(b) <= 3 && int(b)-int(a) <= 3 }
	for _, bar := range bars {
		for _, k := range []int{1, 2, 3} {
			src := yuvFrame(96, 72, func(int, int) color.YCbCr { return bar.in })
			dst := ycbcrToRGBA(src, k)
			if b := dst.Bounds(); b.Dx() != 96/k || b.Dy() != 72/k {
				t.Fatalf("k=%d: bounds %v, want %dx%d", k, b, 96/k, 72/k)
			}
			for _, p := range []image.Point{{0, 0}, {dst.Rect.Dx() - 1, dst.Rect.Dy() - 1}, {10, 7}} {
				got := dst.RGBAAt(p.X, p.Y)
				if !near(got.R, bar.want.R) || !near(got.G, bar.want.G) || !near(got.B, bar.want.B) || got.A != 255 {
					t.Errorf("%v k=%d at %v = %v, want %v", bar.in, k, p, got, bar.want)
				}
			}
		}
	}
}

// TestDisplayFrameAveragesLuma: a one-pixel checkerboard of black and white
// reduced by 2 is an even grey, not the black or white that picking one
// pixel of each block would give; at k=1 it stays a checkerboard.
func TestDisplayFrameAveragesLuma(t *testing.T) {
	checker := func(x, y int) color.YCbCr {
		if (x+y)%2 == 0 {
			return color.YCbCr{Y: 16, Cb: 128, Cr: 128}
		}
		return color.YCbCr{Y: 235, Cb: 128, Cr: 128}
	}
	src := yuvFrame(640, 480, checker)
	dst := ycbcrToRGBA(src, displayScale(640, 480))
	if b := dst.Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Fatalf("bounds %v, want 320x240", b)
	}
	for _, p := range []image.Point{{0, 0}, {1, 0}, {0, 1}, {200, 133}} {
		if c := dst.RGBAAt(p.X, p.Y); c.R < 120 || c.R > 135 || c.R != c.G || c.G != c.B {
			t.Errorf("%v = %v, want an even mid grey", p, c)
		}
	}
	full := ycbcrToRGBA(src, 1)
	if a, b := full.RGBAAt(0, 0), full.RGBAAt(1, 0); a.R != 0 || b.R < 250 {
		t.Errorf("k=1: pixels %v %v, want black then white", a, b)
	}
}

// TestDisplayFrameHalves: the left half red and the right half blue, in
// luma and chroma, stay on their sides after reduction, including odd sizes
// whose last column and row are dropped.
func TestDisplayFrameHalves(t *testing.T) {
	red, blue := color.YCbCr{Y: 81, Cb: 90, Cr: 240}, color.YCbCr{Y: 41, Cb: 240, Cr: 110}
	for _, size := range []image.Point{{640, 480}, {641, 481}, {1280, 720}} {
		w, h := size.X, size.Y
		src := yuvFrame(w, h, func(x, _ int) color.YCbCr {
			if x >= w/2 {
				return blue
			}
			return red
		})
		k := displayScale(w, h)
		dst := ycbcrToRGBA(src, k)
		dw := dst.Rect.Dx()
		if dw != w/k || dst.Rect.Dy() != h/k {
			t.Fatalf("%v: bounds %v, want %dx%d", size, dst.Rect, w/k, h/k)
		}
		left, right := dst.RGBAAt(dw/4, dst.Rect.Dy()/2), dst.RGBAAt(3*dw/4, dst.Rect.Dy()-1)
		if left.R < 200 || left.B > 60 {
			t.Errorf("%v: left %v, want red", size, left)
		}
		if right.B < 200 || right.R > 60 {
			t.Errorf("%v: right %v, want blue", size, right)
		}
	}
}

// BenchmarkDisplayFrame compares converting a VGA frame whole with the
// reduction frame() does; the ratio of the two is the saving per frame.
func BenchmarkDisplayFrame(b *testing.B) {
	src := yuvFrame(640, 480, func(x, y int) color.YCbCr { return color.YCbCr{Y: uint8(x ^ y), Cb: 100, Cr: 150} })
	for _, k := range []int{1, displayScale(640, 480)} {
		b.Run("k="+string(rune('0'+k)), func(b *testing.B) {
			for b.Loop() {
				ycbcrToRGBA(src, k)
			}
		})
	}
}

package call

import (
	"image"
	"image/color"
	"io"
	"sync"
)

// WithPicture sends img, scaled to the call's picture size, as the
// synthetic camera's every frame: a still picture (a photo the patient
// holds up, a test card) in place of the moving one. Devices, when chosen,
// still come first.
func WithPicture(img image.Image) Option {
	return func(e *Engine) error {
		e.picture = img
		return nil
	}
}

// stillVideo is a mediadevices VideoSource that returns one picture at
// the frame rate.
type stillVideo struct {
	id      string
	frame   *image.YCbCr
	pace    *pacer
	onClose func()
	once    sync.Once
}

func newStillVideo(id string, img image.Image, w, h, fps int, onClose func()) *stillVideo {
	return &stillVideo{id: id, frame: toYCbCr(img, w, h), pace: newPacer(fps), onClose: onClose}
}

// ID names the source for mediadevices.
func (s *stillVideo) ID() string { return s.id }

// Close stops the source; a blocked Read returns io.EOF.
func (s *stillVideo) Close() error {
	s.once.Do(func() {
		s.pace.close()
		if s.onClose != nil {
			s.onClose()
		}
	})
	return nil
}

// Read returns the picture when the next frame is due. The encoder only
// reads it, so one image serves every frame.
func (s *stillVideo) Read() (image.Image, func(), error) {
	if _, ok := s.pace.wait(); !ok {
		return nil, func() {}, io.EOF
	}
	return s.frame, func() {}, nil
}

// toYCbCr scales img to w by h (nearest pixel) as a 4:2:0 picture.
func toYCbCr(img image.Image, w, h int) *image.YCbCr {
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	b := img.Bounds()
	at := func(x, y int) (uint8, uint8, uint8) {
		c := color.RGBAModel.Convert(img.At(b.Min.X+x*b.Dx()/w, b.Min.Y+y*b.Dy()/h)).(color.RGBA)
		return color.RGBToYCbCr(c.R, c.G, c.B)
	}
	for y := range h {
		for x := range w {
			yy, cb, cr := at(x, y)
			out.Y[y*out.YStride+x] = yy
			if x%2 == 0 && y%2 == 0 {
				ci := (y/2)*out.CStride + x/2
				out.Cb[ci], out.Cr[ci] = cb, cr
			}
		}
	}
	return out
}

package call

import (
	"image"
	"io"
	"sync"
	"sync/atomic"

	"github.com/pion/mediadevices/pkg/wave"
)

// sourceInput is what a lateSource hands on to once it is open: a device,
// or what replaces it. T is wave.Audio or image.Image.
type sourceInput[T any] interface {
	Read() (T, func(), error)
	Close() error
}

// lateSource is a call's picture or sound when it is to come from a device.
// The OFFER only needs the track's codec, not its device, so the track is
// made on a lateSource at once and the device opens on a goroutine of its
// own while the call rings (localMedia.openDevices, sound.go). Until it is
// open, and for good if it fails with nothing to replace it, the track gets
// a placeholder (silence, a black picture) at the device's pace; then it
// reads the device, or its replacement.
//
// pion binds the track when the ANSWER is applied, and mediadevices then
// reads one chunk or frame to learn the format, inside pion's
// SetRemoteDescription, which the session's loop waits for (and with it the
// patient's candidates). So the first read is always a placeholder, at once
// (see newPacer), even when the device is already attached: a device just
// started gives its first chunk a period or more later. The placeholder has
// the device's format: 48 kHz mono 16-bit sound, a 4:2:0 picture of the
// size asked of the camera (the VP8 encoder starts again at a new size,
// vp8Encoder.encode).
type lateSource[T any] struct {
	id          string
	pace        *pacer
	placeholder func() T
	onClose     func()

	live    atomic.Pointer[sourceInput[T]]
	read    atomic.Bool   // the first read is over
	closing chan struct{} // closed by Close
	opened  chan struct{} // closed when the opening is over, device or not
	once    sync.Once
}

// lateMic is a lateSource of sound.
type lateMic = lateSource[wave.Audio]

func newLateSource[T any](id string, pace *pacer, placeholder func() T, onClose func()) *lateSource[T] {
	return &lateSource[T]{
		id: id, pace: pace, placeholder: placeholder, onClose: onClose,
		closing: make(chan struct{}), opened: make(chan struct{}),
	}
}

// newLateMic gives 10 ms of silence at a sound card's pace until attached.
func newLateMic(id string, onClose func()) *lateMic {
	silence := func() wave.Audio {
		return wave.NewInt16Interleaved(wave.ChunkInfo{Len: audioChunk, Channels: 1, SamplingRate: audioRate})
	}
	return newLateSource(id, newBufferedPacer(chunksPerSecond, toneBuffer), silence, onClose)
}

// newLateCamera gives a black w by h picture fps times a second until
// attached.
func newLateCamera(id string, w, h, fps int, onClose func()) *lateSource[image.Image] {
	black := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range black.Y {
		black.Y[i] = 16
	}
	for i := range black.Cb {
		black.Cb[i], black.Cr[i] = 128, 128
	}
	// One picture for every frame: nothing downstream writes into it.
	return newLateSource(id, newPacer(fps), func() image.Image { return black }, onClose)
}

// attach hands the track on to in (nil: the placeholder for the rest of
// the call) and ends the opening. If the source is closed meanwhile, in is
// closed instead. Call it once, from the goroutine that opens the device.
func (l *lateSource[T]) attach(in sourceInput[T]) {
	defer close(l.opened)
	select {
	case <-l.closing:
		if in != nil {
			_ = in.Close()
		}
		return
	default:
	}
	if in != nil {
		l.live.Store(&in)
	}
}

// input returns what the track reads now, nil while it reads the
// placeholder.
func (l *lateSource[T]) input() sourceInput[T] {
	if in := l.live.Load(); in != nil {
		return *in
	}
	return nil
}

// ID names the source for mediadevices.
func (l *lateSource[T]) ID() string { return l.id }

// Read returns the device's next chunk or frame once it is open, the
// placeholder when due before that.
func (l *lateSource[T]) Read() (T, func(), error) {
	if in := l.input(); in != nil && l.read.Swap(true) {
		return in.Read()
	}
	if _, ok := l.pace.wait(); !ok {
		var zero T
		return zero, func() {}, io.EOF
	}
	return l.placeholder(), func() {}, nil
}

// Close ends the source: it waits for the opening to be over (attach
// closes a device that opened too late), then closes the device.
func (l *lateSource[T]) Close() error {
	l.once.Do(func() {
		close(l.closing)
		l.pace.close()
		<-l.opened
		if in := l.input(); in != nil {
			_ = in.Close()
		}
		if l.onClose != nil {
			l.onClose()
		}
	})
	return nil
}

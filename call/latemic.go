package call

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/pion/mediadevices/pkg/wave"
)

// audioInput is a sound source a lateMic hands on once it is open: the
// microphone, or what replaces it.
type audioInput interface {
	Read() (wave.Audio, func(), error)
	Close() error
}

// lateMic is a call's sound when it is to come from a microphone. The
// OFFER only needs the track's codec, not its device, so the track is made
// on a lateMic at once and the device opens on a goroutine of its own while
// the call rings (Engine.openSound). Until it is open, and for good if it
// fails with nothing to replace it, the track gets silence at a sound
// card's pace; then it reads the device (or its replacement).
//
// pion binds the track when the ANSWER is applied, and mediadevices then
// reads one chunk to learn the format, so the first silence comes at once
// (see newBufferedPacer) and every chunk, silence or device, is 48 kHz mono
// 16-bit, as the encoder was built for.
type lateMic struct {
	id      string
	pace    *pacer
	onClose func()

	live    atomic.Pointer[audioInput]
	closing chan struct{} // closed by Close
	opened  chan struct{} // closed when the opening is over, device or not
	once    sync.Once
}

func newLateMic(id string, onClose func()) *lateMic {
	return &lateMic{
		id: id, pace: newBufferedPacer(chunksPerSecond, toneBuffer), onClose: onClose,
		closing: make(chan struct{}), opened: make(chan struct{}),
	}
}

// attach hands the track on to in (nil: silence for the rest of the call)
// and ends the opening. If the source is closed meanwhile, in is closed
// instead. Call it once, from the goroutine that opens the device.
func (l *lateMic) attach(in audioInput) {
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

// input returns what the track reads now, nil while it reads silence.
func (l *lateMic) input() audioInput {
	if in := l.live.Load(); in != nil {
		return *in
	}
	return nil
}

// ID names the source for mediadevices.
func (l *lateMic) ID() string { return l.id }

// Read returns the device's next chunk once it is open, 10 ms of silence
// when due before that.
func (l *lateMic) Read() (wave.Audio, func(), error) {
	if in := l.input(); in != nil {
		return in.Read()
	}
	if _, ok := l.pace.wait(); !ok {
		return nil, func() {}, io.EOF
	}
	return wave.NewInt16Interleaved(wave.ChunkInfo{Len: audioChunk, Channels: 1, SamplingRate: audioRate}), func() {}, nil
}

// Close ends the source: it waits for the opening to be over (attach
// closes a device that opened too late), then closes the device.
func (l *lateMic) Close() error {
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

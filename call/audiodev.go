package call

import (
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/wave"
)

// realBackends returns the sound systems tried on Linux. miniaudio's "null"
// backend is left out on purpose: on a machine with no sound card it offers a
// capture device that records zeros and a playback device that discards
// everything, which would hide the absence of real devices.
//
// The microphone is opened through malgo directly rather than through
// mediadevices' microphone driver, whose init() opens a global audio context
// and panics if that fails; here a failure is an error and auto mode falls
// back to the synthetic tone.
func realBackends() []malgo.Backend {
	return []malgo.Backend{malgo.BackendPulseaudio, malgo.BackendAlsa, malgo.BackendJack}
}

// audioContext opens a miniaudio context on the real backends.
func audioContext() (*malgo.AllocatedContext, error) {
	ctx, err := malgo.InitContext(realBackends(), malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("audio context: %w", err)
	}
	return ctx, nil
}

// freeAudioContext releases a context from audioContext.
func freeAudioContext(ctx *malgo.AllocatedContext) {
	_ = ctx.Uninit()
	ctx.Free()
}

// hasAudioDevice reports whether a real capture or playback device exists,
// and if name is given, whether it is one of them (ErrNoDevice if not).
func hasAudioDevice(k DeviceKind, name string) (bool, error) {
	ctx, err := audioContext()
	if err != nil {
		return false, nil
	}
	defer freeAudioContext(ctx)
	devs, err := ctx.Devices(malgoKind(k))
	if err != nil || len(devs) == 0 {
		return false, nil
	}
	_, freeID, err := soundDeviceID(ctx, k, name)
	if err != nil {
		return false, fmt.Errorf("%s: %w", k, err)
	}
	freeID()
	return true, nil
}

// microphone is a mediadevices AudioSource reading a capture device (the
// default, or the one chosen by name) as 48 kHz mono 16-bit chunks. A call
// reads it through its lateMic.
type microphone struct {
	id     string
	ctx    *malgo.AllocatedContext
	dev    *malgo.Device
	chunks chan []int16
	done   chan struct{}
	once   sync.Once

	// lost is set while the device delivers nothing (unplugged, its sound
	// server gone); Read then gives silence so the call goes on. timer is
	// Read's own.
	lost  atomic.Bool
	timer *time.Timer
}

// micStall is how long the device may deliver nothing before it counts as
// lost: many periods of 10 ms, so a busy sound server is not mistaken for
// a missing microphone.
const micStall = 500 * time.Millisecond

// openMicrophone opens the capture device called name (the default when
// empty). With proc, each chunk is run through the audio processing before
// it is handed on.
func openMicrophone(id, name string, proc *audioProcessor) (*microphone, error) {
	ctx, err := audioContext()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoMicrophone, err)
	}
	devs, err := ctx.Devices(malgo.Capture)
	if err != nil || len(devs) == 0 {
		freeAudioContext(ctx)
		return nil, ErrNoMicrophone
	}
	devID, freeID, err := soundDeviceID(ctx, DeviceMicrophone, name)
	if err != nil {
		freeAudioContext(ctx)
		return nil, fmt.Errorf("%w: %v", ErrNoMicrophone, err)
	}
	defer freeID()
	m := &microphone{id: id, ctx: ctx, chunks: make(chan []int16, 16), done: make(chan struct{})}
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.DeviceID = devID
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = 1
	cfg.SampleRate = audioRate
	cfg.PeriodSizeInMilliseconds = 10
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{
		Data: func(_, in []byte, frames uint32) {
			pcm := make([]int16, len(in)/2)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(in[2*i:]))
			}
			if proc != nil {
				// Whole 10 ms frames come out; the rest waits for the next period.
				if pcm = proc.captured(pcm, nil); len(pcm) == 0 {
					return
				}
			}
			select { // never block the audio thread; drop when the encoder lags
			case m.chunks <- pcm:
			default:
			}
		},
	})
	if err != nil {
		freeAudioContext(ctx)
		return nil, fmt.Errorf("%w: %v", ErrNoMicrophone, err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		freeAudioContext(ctx)
		return nil, fmt.Errorf("%w: %v", ErrNoMicrophone, err)
	}
	m.dev = dev
	return m, nil
}

// openMicInput is openMicrophone as an Engine's openMic.
func openMicInput(id, name string, proc *audioProcessor) (sourceInput[wave.Audio], error) {
	m, err := openMicrophone(id, name, proc)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ID names the source for mediadevices.
func (m *microphone) ID() string { return m.id }

// isLost reports whether the device has stopped delivering.
func (m *microphone) isLost() bool { return m.lost.Load() }

// maxMicBacklog is how many captured chunks (10 ms each) may wait behind
// the one Read returns; older ones are dropped.
const maxMicBacklog = 2

// Read returns the next captured chunk.
func (m *microphone) Read() (wave.Audio, func(), error) {
	wait := micStall
	if m.lost.Load() {
		wait = 10 * time.Millisecond // silence at the device's pace, until it is back
	}
	if m.timer == nil {
		m.timer = time.NewTimer(wait)
	} else {
		m.timer.Reset(wait)
	}
	defer m.timer.Stop()
	select {
	case <-m.done:
		return nil, func() {}, io.EOF
	case <-m.timer.C:
		m.lost.Store(true)
		return wave.NewInt16Interleaved(wave.ChunkInfo{Len: audioRate / 100, Channels: 1, SamplingRate: audioRate}), func() {}, nil
	case pcm := <-m.chunks:
		m.lost.Store(false)
		// The device starts before the call connects and the track is read:
		// what it captured meanwhile would stay queued ahead of the live
		// sound for the whole call (up to the channel's 160 ms, measured as
		// the time a mute took to reach the patient). Keep the latest only.
		for len(m.chunks) > maxMicBacklog {
			pcm = <-m.chunks
		}
		chunk := wave.NewInt16Interleaved(wave.ChunkInfo{Len: len(pcm), Channels: 1, SamplingRate: audioRate})
		copy(chunk.Data, pcm)
		return chunk, func() {}, nil
	}
}

// Close stops and releases the device.
func (m *microphone) Close() error {
	m.once.Do(func() {
		close(m.done)
		m.dev.Uninit()
		freeAudioContext(m.ctx)
	})
	return nil
}

// speaker plays 48 kHz mono audio on the default output device. Writes never
// block: a bounded buffer drops the oldest samples when playback lags.
type speaker struct {
	ctx  *malgo.AllocatedContext
	dev  *malgo.Device
	mu   sync.Mutex
	buf  []int16
	held time.Duration // the hold the buffer holds now (playout.go)

	// proc, when set, is told of every sample handed to the device,
	// silence included: it is the echo canceller's far end.
	proc   *audioProcessor
	played []int16 // fill's own

	// The device asks for sound every period while it plays, silence or
	// not, so one that stops asking is gone (its sink unloaded, unplugged):
	// lastFill is when it last asked (Unix ns), opened when it started.
	lastFill atomic.Int64
	opened   time.Time
}

// maxSpeakerBuffer bounds the playback buffer (200 ms, and the longest
// hold for the picture on top) to keep latency low.
const maxSpeakerBuffer = audioRate/5 + int(maxAudioHold*audioRate/time.Second)

// openSpeaker opens the output device called name (the default when
// empty). proc, if not nil, hears everything played.
func openSpeaker(name string, proc *audioProcessor) (*speaker, error) {
	ctx, err := audioContext()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoPlayback, err)
	}
	devs, err := ctx.Devices(malgo.Playback)
	if err != nil || len(devs) == 0 {
		freeAudioContext(ctx)
		return nil, ErrNoPlayback
	}
	devID, freeID, err := soundDeviceID(ctx, DeviceSpeaker, name)
	if err != nil {
		freeAudioContext(ctx)
		return nil, fmt.Errorf("%w: %v", ErrNoPlayback, err)
	}
	defer freeID()
	s := &speaker{ctx: ctx, proc: proc}
	cfg := malgo.DefaultDeviceConfig(malgo.Playback)
	cfg.Playback.DeviceID = devID
	cfg.Playback.Format = malgo.FormatS16
	cfg.Playback.Channels = 1
	cfg.SampleRate = audioRate
	dev, err := malgo.InitDevice(ctx.Context, cfg, malgo.DeviceCallbacks{Data: s.fill})
	if err != nil {
		freeAudioContext(ctx)
		return nil, fmt.Errorf("%w: %v", ErrNoPlayback, err)
	}
	if err := dev.Start(); err != nil {
		dev.Uninit()
		freeAudioContext(ctx)
		return nil, fmt.Errorf("%w: %v", ErrNoPlayback, err)
	}
	s.dev = dev
	s.opened = time.Now()
	return s, nil
}

// stalled reports whether the device has asked for no sound for micStall
// (the microphone's limit, for the same reason) by now.
func (s *speaker) stalled(now time.Time) bool {
	last := s.opened
	if ns := s.lastFill.Load(); ns != 0 {
		last = time.Unix(0, ns)
	}
	return now.Sub(last) > micStall
}

func (s *speaker) fill(out, _ []byte, frames uint32) {
	s.lastFill.Store(time.Now().UnixNano())
	s.mu.Lock()
	n := min(int(frames), len(s.buf), len(out)/2)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(s.buf[i]))
	}
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.mu.Unlock()
	clear(out[2*n:])
	if s.proc != nil {
		s.played = s.played[:0]
		for i := 0; i < int(frames) && 2*i+1 < len(out); i++ {
			s.played = append(s.played, int16(binary.LittleEndian.Uint16(out[2*i:])))
		}
		s.proc.played(s.played)
	}
}

// write queues pcm to be played hold later than it would be unheld: a
// longer hold than the last puts silence before it, a shorter one drops
// that much of what is queued.
func (s *speaker) write(pcm []float32, hold time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := int((hold - s.held) * audioRate / time.Second); d > 0 {
		s.buf = append(s.buf, make([]int16, d)...)
	} else if d < 0 {
		drop := min(-d, len(s.buf))
		s.buf = s.buf[:copy(s.buf, s.buf[drop:])]
	}
	s.held = hold
	for _, v := range pcm {
		s.buf = append(s.buf, int16(max(-1, min(1, v))*32767))
	}
	if over := len(s.buf) - maxSpeakerBuffer; over > 0 {
		s.buf = s.buf[:copy(s.buf, s.buf[over:])]
	}
}

// close stops and releases the device (a speaker made without one, in
// tests, has nothing to release).
func (s *speaker) close() {
	if s.dev == nil {
		return
	}
	s.dev.Uninit()
	freeAudioContext(s.ctx)
}

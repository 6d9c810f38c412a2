package call

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/codec/opus"
	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/audio"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// localMedia is one call's outgoing picture and sound: two mediadevices
// tracks with their sources, owned by the session and closed when it ends
// (stack.md: one owner per track, close explicitly, open afresh per call).
type localMedia struct {
	video, audio mediadevices.Track
	selector     *mediadevices.CodecSelector
	source       string
	camera       bool // video comes from a camera driver, not a synthetic source

	cameraOff, micMuted atomic.Bool
	framesOut           atomic.Uint64
	widthOut, heightOut atomic.Int64

	encMu   sync.Mutex
	encoder codec.ReadCloser // the live VP8 encoder, for SetBitRate
	applied atomic.Int64     // the last bit rate the encoder accepted

	closeOnce sync.Once
	e         *Engine
}

// vp8Builder wraps mediadevices' VP8 encoder builder to keep hold of the
// encoder it builds, so the congestion controller's target can be fed into
// codec.BitRateController.SetBitRate at run time (stack.md "pion stats and
// congestion control") without touching the track's unsynchronised field.
type vp8Builder struct {
	params vpx.VP8Params
	m      *localMedia
}

// RTPCodec describes VP8 to pion.
func (b *vp8Builder) RTPCodec() *codec.RTPCodec { return b.params.RTPCodec() }

// BuildVideoEncoder builds the encoder and records it.
func (b *vp8Builder) BuildVideoEncoder(r video.Reader, p prop.Media) (codec.ReadCloser, error) {
	enc, err := b.params.BuildVideoEncoder(r, p)
	if err != nil {
		return nil, err
	}
	b.m.encMu.Lock()
	b.m.encoder = enc
	b.m.encMu.Unlock()
	return enc, nil
}

// setBitrate feeds a new target into the running encoder, if any.
func (m *localMedia) setBitrate(bps int) {
	m.encMu.Lock()
	enc := m.encoder
	m.encMu.Unlock()
	if enc == nil {
		return
	}
	if bc, ok := enc.Controller().(codec.BitRateController); ok && bc.SetBitRate(bps) == nil {
		m.applied.Store(int64(bps))
	}
}

// forceKeyFrame asks the running encoder for a key frame. The encoder starts
// when the track is bound, before DTLS is up, so its first key frame is
// usually lost; one sent as soon as the call connects spares the peer a PLI
// round trip before its first picture.
func (m *localMedia) forceKeyFrame() {
	m.encMu.Lock()
	enc := m.encoder
	m.encMu.Unlock()
	if enc == nil {
		return
	}
	if kc, ok := enc.Controller().(codec.KeyFrameController); ok {
		_ = kc.ForceKeyFrame()
	}
}

// openMedia opens the call's local media as the engine's Media choice says.
// In MediaAuto a missing device is replaced by its synthetic counterpart.
func (e *Engine) openMedia(callID string) (*localMedia, error) {
	m := &localMedia{e: e}
	vp8, err := vpx.NewVP8Params()
	if err != nil {
		return nil, fmt.Errorf("vp8 params: %w", err)
	}
	vp8.BitRate = e.startBitrate
	vp8.KeyFrameInterval = 3 * e.fps
	vp8.RateControlEndUsage = vpx.RateControlCBR
	// Deadline stays VPX_DL_REALTIME (mediadevices' default): in realtime
	// mode libvpx's VP8 picks its speed from the frame budget.
	op, err := opus.NewParams()
	if err != nil {
		return nil, fmt.Errorf("opus params: %w", err)
	}
	op.BitRate = 32_000
	m.selector = mediadevices.NewCodecSelector(
		mediadevices.WithVideoEncoders(&vp8Builder{params: vp8, m: m}),
		mediadevices.WithAudioEncoders(&op),
	)

	var videoSrc, audioSrc string
	if e.media == MediaDevices || (e.media == MediaAuto && e.hasCamera) {
		m.video, err = e.openCamera(m.selector)
		if err != nil && e.media == MediaDevices {
			m.close()
			return nil, err
		}
		if err != nil {
			e.log.Warn("camera unavailable, using synthetic video", "err", err)
		} else {
			videoSrc = "camera"
			m.camera = true
		}
	}
	if m.video == nil {
		src := newSyntheticVideo(callID+"-video", e.width, e.height, e.fps, e.now, e.sourceClosed)
		e.sourceOpened()
		m.video = mediadevices.NewVideoTrack(src, m.selector)
		videoSrc = "synthetic"
	}
	m.video.(*mediadevices.VideoTrack).Transform(m.gateVideo)

	if e.media == MediaDevices || (e.media == MediaAuto && e.hasMic) {
		mic, err := openMicrophone(callID+"-audio", e.sourceClosed)
		if err != nil && e.media == MediaDevices {
			m.close()
			return nil, err
		}
		if err != nil {
			e.log.Warn("microphone unavailable, using synthetic tone", "err", err)
		} else {
			e.sourceOpened()
			m.audio = mediadevices.NewAudioTrack(mic, m.selector)
			audioSrc = "microphone"
		}
	}
	if m.audio == nil {
		e.sourceOpened()
		m.audio = mediadevices.NewAudioTrack(newSyntheticTone(callID+"-audio", e.sourceClosed), m.selector)
		audioSrc = "synthetic"
	}
	m.audio.(*mediadevices.AudioTrack).Transform(m.gateAudio)

	m.source = describeSource(e.media, videoSrc == "camera", audioSrc == "microphone")
	if e.media == MediaSynthetic {
		m.source = "synthetic"
	}
	e.source.Store(&m.source)
	return m, nil
}

// openCamera opens the best camera for the configured size and rate.
func (e *Engine) openCamera(sel *mediadevices.CodecSelector) (mediadevices.Track, error) {
	stream, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
		Video: func(c *mediadevices.MediaTrackConstraints) {
			c.Width = prop.Int(e.width)
			c.Height = prop.Int(e.height)
			c.FrameRate = prop.Float(e.fps)
		},
		Codec: sel,
	})
	if err != nil {
		// stack.md: with no camera this is "failed to find the best driver
		// that fits the constraints"; say it plainly.
		return nil, fmt.Errorf("%w: %v", ErrNoCamera, err)
	}
	tracks := stream.GetVideoTracks()
	if len(tracks) == 0 {
		return nil, ErrNoCamera
	}
	e.sourceOpened()
	return tracks[0], nil
}

// gateVideo counts outgoing frames and replaces them with black while the
// camera is off. The source keeps being read so its pacing is unchanged.
func (m *localMedia) gateVideo(r video.Reader) video.Reader {
	var black *image.YCbCr
	return video.ReaderFunc(func() (image.Image, func(), error) {
		img, release, err := r.Read()
		if err != nil {
			return nil, func() {}, err
		}
		b := img.Bounds()
		m.framesOut.Add(1)
		m.widthOut.Store(int64(b.Dx()))
		m.heightOut.Store(int64(b.Dy()))
		if !m.cameraOff.Load() {
			return img, release, nil
		}
		if release != nil {
			release()
		}
		if black == nil || black.Rect != b {
			black = image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
			for i := range black.Y {
				black.Y[i] = 16
			}
			for i := range black.Cb {
				black.Cb[i], black.Cr[i] = 128, 128
			}
		}
		return black, func() {}, nil
	})
}

// gateAudio sends silence while the microphone is muted.
func (m *localMedia) gateAudio(r audio.Reader) audio.Reader {
	return audio.ReaderFunc(func() (wave.Audio, func(), error) {
		chunk, release, err := r.Read()
		if err != nil || !m.micMuted.Load() {
			return chunk, release, err
		}
		switch c := chunk.(type) {
		case *wave.Int16Interleaved:
			clear(c.Data)
		case *wave.Float32Interleaved:
			clear(c.Data)
		}
		return chunk, release, nil
	})
}

// close closes both tracks, which closes their sources. Call it after the
// peer connection is closed, so the tracks are already unbound (stack.md:
// closing a bound track has deadlocked for users).
func (m *localMedia) close() {
	m.closeOnce.Do(func() {
		var errs []error
		if m.video != nil {
			errs = append(errs, m.video.Close())
			if m.camera {
				// A camera track closes the driver, not one of our sources.
				m.e.sourceClosed()
			}
		}
		if m.audio != nil {
			errs = append(errs, m.audio.Close())
		}
		if err := errors.Join(errs...); err != nil {
			m.e.log.Debug("closing local media", "err", err)
		}
	})
}

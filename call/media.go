package call

import (
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
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
// (docs/stack.md, "mediadevices": one owner per track, close explicitly, open afresh per call).
type localMedia struct {
	video, audio mediadevices.Track
	selector     *mediadevices.CodecSelector
	source       atomic.Pointer[string] // in plain words, describeSource
	cameraOn     atomic.Bool            // the picture comes (or is to come) from the camera
	micOn        atomic.Bool            // the sound, from the microphone
	srcMu        sync.Mutex             // held to change source from the two above
	stream       string                 // the one media stream both tracks belong to
	capture      captureClock

	// The camera, the microphone and the speaker open while the call
	// rings (openDevices, opendevices.go); soundDone is closed once all are open
	// or given up, and nothing below but the atomics is read before.
	cam        *lateSource[image.Image] // the picture's source when it is to be the camera
	camNote    atomic.Pointer[string]   // why the camera did not open, for the screen
	mic        *lateMic                 // the sound's source when it is to be a microphone
	proc       *audioProcessor          // the microphone's processing; nil without one
	processing atomic.Pointer[string]
	speaker    atomic.Pointer[speaker] // the call's speaker, once open
	soundDone  chan struct{}
	micNote    atomic.Pointer[string] // why the microphone did not open, for the screen
	spkNote    atomic.Pointer[string] // the same for the speaker
	spkRemark  atomic.Pointer[string] // there is no speaker to use, for the screen

	cameraOff, micMuted atomic.Bool
	framesOut           atomic.Uint64
	widthOut, heightOut atomic.Int64

	encMu    sync.Mutex
	encoder  codec.ReadCloser // the live VP8 encoder, for SetBitRate
	audioEnc codec.ReadCloser // the live Opus encoder, for SetBitRate
	applied  atomic.Int64     // the last bit rate the encoder accepted

	level atomic.Int32 // the adaptation's videoLevel; gateVideo reads it

	// Wishes for the video encoder, applied by control (see setBitrate).
	wantRate atomic.Int64
	wantKey  atomic.Bool
	ctl      chan struct{}
	closing  chan struct{}
	ctlDone  chan struct{}

	closeOnce sync.Once
	e         *Engine
}

// streamTrack puts a mediadevices track in the call's one media stream.
// mediadevices' StreamID returns a new random id on every call, and pion asks
// for it once for each line it writes (a=msid, and a=ssrc's msid: and cname:),
// so every line, and each of the two tracks, named another stream. A
// libwebrtc receiver then syncs neither track with the other (its sync group
// is the msid stream), and an app that plays event.streams[0] of the video
// track in one element never plays the sound. pion also writes the stream id
// as the ssrc's cname, so one stream id gives all the call's RTP streams one
// CNAME too.
type streamTrack struct {
	mediadevices.Track
	stream string
}

// StreamID names the call's stream, the same on every call.
func (t streamTrack) StreamID() string { return t.stream }

// vp8Builder builds the engine's own VP8 encoder (vp8enc.go: mediadevices'
// runs libvpx at its slowest) with mediadevices' VP8 parameters, and keeps
// hold of it, so the congestion controller's target can be fed into
// codec.BitRateController.SetBitRate at run time (docs/stack.md, "pion
// congestion control") without touching the track's unsynchronised field.
type vp8Builder struct {
	params vpx.VP8Params
	m      *localMedia
}

// RTPCodec describes VP8 to pion.
func (b *vp8Builder) RTPCodec() *codec.RTPCodec { return b.params.RTPCodec() }

// BuildVideoEncoder builds the encoder and records it.
func (b *vp8Builder) BuildVideoEncoder(r video.Reader, p prop.Media) (codec.ReadCloser, error) {
	enc, err := newVP8Encoder(r, p, b.params.BitRate, b.params.KeyFrameInterval)
	if err != nil {
		return nil, err
	}
	enc.captured = b.m.capture.videoCaptured
	b.m.encMu.Lock()
	b.m.encoder = enc
	b.m.encMu.Unlock()
	return enc, nil
}

// opusBuilder wraps mediadevices' Opus encoder builder to keep hold of the
// encoder, so audio can use less of a link too slow for video.
type opusBuilder struct {
	params *opus.Params
	m      *localMedia
}

// RTPCodec describes Opus to pion.
func (b *opusBuilder) RTPCodec() *codec.RTPCodec { return b.params.RTPCodec() }

// BuildAudioEncoder builds the encoder and records it.
func (b *opusBuilder) BuildAudioEncoder(r audio.Reader, p prop.Media) (codec.ReadCloser, error) {
	// The capture of what the encoder takes in and of what it gives out,
	// in order (captureclock.go).
	capture, rate := &b.m.capture, p.SampleRate
	taken := audio.ReaderFunc(func() (wave.Audio, func(), error) {
		chunk, release, err := r.Read()
		if err == nil && chunk != nil && rate > 0 {
			capture.audioTaken(chunk.ChunkInfo().Len, rate, time.Now())
		}
		return chunk, release, err
	})
	enc, err := b.params.BuildAudioEncoder(taken, p)
	if err != nil {
		return nil, err
	}
	if frame := int(b.params.Latency.Duration() * time.Duration(rate) / time.Second); frame > 0 {
		enc = audioEncoded{ReadCloser: enc, done: func() { capture.audioEncoded(frame, rate) }}
	}
	b.m.encMu.Lock()
	b.m.audioEnc = enc
	b.m.encMu.Unlock()
	return enc, nil
}

// audioEncoded tells done of each frame its encoder returns.
type audioEncoded struct {
	codec.ReadCloser
	done func()
}

// Read returns the encoder's next frame.
func (e audioEncoded) Read() ([]byte, func(), error) {
	b, release, err := e.ReadCloser.Read()
	if err == nil {
		e.done()
	}
	return b, release, err
}

// setAudioBitrate sets the running Opus encoder's rate, if any. It holds
// encMu while it does, and close lets go of the encoder under encMu before
// the track closes it: mediadevices' Opus SetBitRate does not check that
// the encoder is still open, and called after Close it crashes the process.
func (m *localMedia) setAudioBitrate(bps int) {
	m.encMu.Lock()
	defer m.encMu.Unlock()
	if m.audioEnc == nil {
		return
	}
	if bc, ok := m.audioEnc.Controller().(codec.BitRateController); ok {
		_ = bc.SetBitRate(bps)
	}
}

// setBitrate asks the running encoder for a new target, and forceKeyFrame
// for a key frame. Both only record the wish and wake the control worker:
// mediadevices' VP8 encoder holds its lock while it waits for the next frame,
// and while the adaptation pauses video (audio only) that wait has no end,
// so the session's loop must never call into the encoder itself.
func (m *localMedia) setBitrate(bps int) {
	m.wantRate.Store(int64(bps))
	m.poke()
}

// forceKeyFrame: see setBitrate. The encoder starts when the track is
// bound, before DTLS is up, so its first key frame is usually lost; one sent
// as soon as the call connects spares the peer a PLI round trip before its
// first picture.
func (m *localMedia) forceKeyFrame() {
	m.wantKey.Store(true)
	m.poke()
}

func (m *localMedia) poke() {
	select {
	case m.ctl <- struct{}{}:
	default:
	}
}

// control applies the wishes of setBitrate and forceKeyFrame to the video
// encoder, on its own goroutine, until the media are closed.
func (m *localMedia) control() {
	defer close(m.ctlDone)
	for {
		select {
		case <-m.closing:
			return
		case <-m.ctl:
		}
		m.encMu.Lock()
		enc := m.encoder
		m.encMu.Unlock()
		if enc == nil {
			continue // not built yet: the wish stays for the next poke
		}
		if bps := m.wantRate.Swap(0); bps > 0 {
			if bc, ok := enc.Controller().(codec.BitRateController); ok && bc.SetBitRate(int(bps)) == nil {
				m.applied.Store(bps)
			}
		}
		if m.wantKey.Swap(false) {
			if kc, ok := enc.Controller().(codec.KeyFrameController); ok {
				_ = kc.ForceKeyFrame()
			}
		}
	}
}

// newCodecParams returns mediadevices' default VP8 and Opus parameters.
func newCodecParams() (vpx.VP8Params, opus.Params, error) {
	vp8, err := vpx.NewVP8Params()
	if err != nil {
		return vpx.VP8Params{}, opus.Params{}, fmt.Errorf("vp8 params: %w", err)
	}
	op, err := opus.NewParams()
	if err != nil {
		return vpx.VP8Params{}, opus.Params{}, fmt.Errorf("opus params: %w", err)
	}
	return vp8, op, nil
}

// openMedia opens the call's local media as the engine's Media choice says.
// In MediaAuto a missing device is replaced by its synthetic counterpart.
func (e *Engine) openMedia(callID string) (*localMedia, error) {
	// The codecs' parameters first: nothing is started yet if they fail.
	vp8, op, err := e.codecParams()
	if err != nil {
		return nil, err
	}
	vp8.BitRate = e.startBitrate
	vp8.KeyFrameInterval = 3 * e.fps
	vp8.RateControlEndUsage = vpx.RateControlCBR
	// Deadline stays VPX_DL_REALTIME (mediadevices' default): in realtime
	// mode libvpx's VP8 picks its speed from the frame budget.
	op.BitRate = withVideoOpus
	m := &localMedia{
		e: e, stream: "teleconsole-" + uuid.NewString(),
		ctl: make(chan struct{}, 1), closing: make(chan struct{}), ctlDone: make(chan struct{}),
	}
	// From here on every error path calls m.close, which ends control.
	go m.control()
	m.selector = mediadevices.NewCodecSelector(
		mediadevices.WithVideoEncoders(&vp8Builder{params: vp8, m: m}),
		mediadevices.WithAudioEncoders(&opusBuilder{params: &op, m: m}),
	)
	m.level.Store(int32(levelFull))

	var videoSrc, audioSrc string
	// The camera, the microphone (when the sound is to be one) and the
	// speaker open on goroutines of their own (openDevices): the OFFER
	// needs none of them.
	wantCam := e.media == MediaDevices || (e.media == MediaAuto && e.hasCamera)
	if wantCam {
		m.cam = newLateCamera(callID+"-video", e.width, e.height, e.fps, e.sourceClosed)
		e.sourceOpened()
		m.video = mediadevices.NewVideoTrack(m.cam, m.selector)
		videoSrc = "camera"
		m.cameraOn.Store(true)
	}
	if m.video == nil && e.picture != nil {
		src := newStillVideo(callID+"-video", e.picture, e.width, e.height, e.fps, e.sourceClosed)
		e.sourceOpened()
		m.video = mediadevices.NewVideoTrack(src, m.selector)
		videoSrc = "picture"
	}
	if m.video == nil {
		src := newSyntheticVideo(callID+"-video", e.width, e.height, e.fps, e.now, e.sourceClosed)
		src.captured = m.capture.sourceCaptured
		e.sourceOpened()
		m.video = mediadevices.NewVideoTrack(src, m.selector)
		videoSrc = "synthetic"
	}
	m.video.(*mediadevices.VideoTrack).Transform(m.gateVideo)

	wantMic := e.media != MediaSynthetic
	if wantMic {
		m.mic = newLateMic(callID+"-audio", e.sourceClosed)
		e.sourceOpened()
		m.audio = mediadevices.NewAudioTrack(m.mic, m.selector)
		if e.hasMic.Load() { // as at the last look, until it is open
			audioSrc = "microphone"
			m.micOn.Store(true)
		}
		m.setProcessing(e.audioProc.String())
	} else {
		e.sourceOpened()
		tone := newSyntheticTone(callID+"-audio", e.sourceClosed)
		tone.captured = m.capture.audioSourceCaptured
		m.audio = mediadevices.NewAudioTrack(tone, m.selector)
		audioSrc = "synthetic"
		m.setProcessing("")
	}
	m.audio.(*mediadevices.AudioTrack).Transform(m.gateAudio)
	// What the call is to use, until the openings say otherwise.
	m.setSource(describeSource(e.media, videoSrc == "camera", audioSrc == "microphone"))
	m.soundDone = make(chan struct{})
	go m.openDevices(callID, wantCam, wantMic, e.playback)
	return m, nil
}

// gateVideo applies the adaptation's rung and the camera switch
// to the outgoing picture: it drops every frame while audio-only, drops
// frames down to the rung's frame rate, scales the picture down, counts what
// goes out, and sends black while the camera is off. The source keeps being
// read so its pacing is unchanged.
func (m *localMedia) gateVideo(r video.Reader) video.Reader {
	var black *image.YCbCr
	var scaled [2]*image.YCbCr
	var flip int
	var last time.Time
	srcFPS := m.e.fps
	return video.ReaderFunc(func() (image.Image, func(), error) {
		for {
			img, release, err := r.Read()
			if err != nil {
				return nil, func() {}, err
			}
			if release == nil {
				release = func() {}
			}
			lvl := videoLevel(m.level.Load())
			if lvl == levelAudioOnly {
				release()
				last = time.Time{}
				continue
			}
			div, maxFPS := lvl.shape(srcFPS)
			now := time.Now()
			if maxFPS < srcFPS && !last.IsZero() {
				interval := time.Second / time.Duration(maxFPS)
				if now.Sub(last) < interval-interval/4 {
					release()
					continue
				}
			}
			last = now
			if src, ok := img.(*image.YCbCr); ok && div > 1 && src.Rect.Dx()/div >= 16 && src.Rect.Dy()/div >= 16 {
				img = downscale(src, div, &scaled[flip])
				flip ^= 1
				release()
				release = func() {}
			}
			b := img.Bounds()
			m.framesOut.Add(1)
			m.widthOut.Store(int64(b.Dx()))
			m.heightOut.Store(int64(b.Dy()))
			if !m.cameraOff.Load() {
				return img, release, nil
			}
			release()
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
		}
	})
}

// downscale shrinks a 4:2:0 picture by div in both directions, taking every
// div-th sample, into *dst (reused while its size fits).
func downscale(src *image.YCbCr, div int, dst **image.YCbCr) *image.YCbCr {
	w, h := (src.Rect.Dx()/div)&^1, (src.Rect.Dy()/div)&^1
	out := *dst
	if out == nil || out.Rect.Dx() != w || out.Rect.Dy() != h {
		out = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		*dst = out
	}
	x0, y0 := src.Rect.Min.X, src.Rect.Min.Y
	for y := 0; y < h; y++ {
		srow := src.Y[src.YOffset(x0, y0+y*div):]
		drow := out.Y[y*out.YStride : y*out.YStride+w]
		for x := range drow {
			drow[x] = srow[x*div]
		}
	}
	for y := 0; y < h/2; y++ {
		off := src.COffset(x0, y0+y*2*div)
		cb, cr := src.Cb[off:], src.Cr[off:]
		dcb := out.Cb[y*out.CStride : y*out.CStride+w/2]
		dcr := out.Cr[y*out.CStride : y*out.CStride+w/2]
		for x := range dcb {
			dcb[x] = cb[x*div]
			dcr[x] = cr[x*div]
		}
	}
	return out
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
// peer connection is closed, so the tracks are already unbound (docs/stack.md, "mediadevices":
// closing a bound track has deadlocked for users).
func (m *localMedia) close() {
	m.closeOnce.Do(func() {
		close(m.closing)
		var errs []error
		if m.video != nil {
			errs = append(errs, m.video.Close())
		}
		if m.audio != nil {
			m.encMu.Lock()
			m.audioEnc = nil // no SetBitRate from here on (setAudioBitrate)
			m.encMu.Unlock()
			errs = append(errs, m.audio.Close())
		}
		// The tracks' closes waited for the camera's and the
		// microphone's opening (lateSource.Close); the speaker's may still
		// be under way.
		if m.soundDone != nil {
			<-m.soundDone
		}
		if sp := m.speaker.Load(); sp != nil {
			sp.close()
		}
		m.closeProcessing()
		<-m.ctlDone // closed sources end any encoder wait it was stuck in
		if err := errors.Join(errs...); err != nil {
			m.e.log.Debug("closing local media", "err", err)
		}
	})
}

package call

import (
	"image"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/opus"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// remoteVideo turns the peer's VP8 RTP into decoded frames: RTP ->
// samplebuilder (one whole frame per sample) -> libvpx decoder, as stack.md
// requires ("every Read must return exactly one whole frame").
type remoteVideo struct {
	track   *webrtc.TrackRemote
	sb      *samplebuilder.SampleBuilder
	pli     func()
	log     func(msg string, args ...any)
	readErr error

	latest  atomic.Pointer[decodedFrame]
	decoded atomic.Uint64
	errors  atomic.Uint64

	rgbaMu  sync.Mutex
	rgba    *image.RGBA
	rgbaSeq uint64
}

type decodedFrame struct {
	img *image.YCbCr
	seq uint64
}

func newRemoteVideo(track *webrtc.TrackRemote, pli func(), log func(string, ...any)) *remoteVideo {
	return &remoteVideo{
		track: track,
		log:   log,
		sb:    samplebuilder.New(256, &codecs.VP8Packet{}, track.Codec().ClockRate, samplebuilder.WithMaxTimeDelay(400*time.Millisecond)),
		pli:   pli,
	}
}

// Read gives the decoder one whole VP8 frame per call.
func (v *remoteVideo) Read(p []byte) (int, error) {
	for {
		if s := v.sb.Pop(); s != nil {
			if len(s.Data) > len(p) {
				continue // larger than the decoder's 1 MiB buffer: drop it
			}
			return copy(p, s.Data), nil
		}
		pkt, _, err := v.track.ReadRTP()
		if err != nil {
			v.readErr = err
			return 0, err
		}
		v.sb.Push(pkt)
	}
}

// run decodes until the track ends. It asks for a key frame (PLI) at the
// start and after a decode error, at most twice a second.
func (v *remoteVideo) run() {
	dec, err := vpx.NewDecoder(v, prop.Media{})
	if err != nil {
		return
	}
	defer dec.Close()
	v.pli()
	var lastPLI time.Time
	for {
		img, _, err := dec.Read()
		if err != nil {
			if v.readErr != nil {
				return
			}
			v.log("video decode error", "err", err)
			v.errors.Add(1)
			if time.Since(lastPLI) > 500*time.Millisecond {
				lastPLI = time.Now()
				v.pli()
			}
			continue
		}
		y, ok := img.(*image.YCbCr)
		if !ok {
			continue
		}
		n := v.decoded.Add(1)
		v.latest.Store(&decodedFrame{img: y, seq: n})
		if n == 1 {
			v.log("first video frame decoded", "width", y.Rect.Dx(), "height", y.Rect.Dy())
		}
	}
}

// frame returns the latest frame as RGBA, converting at most once per frame.
func (v *remoteVideo) frame() (*image.RGBA, uint64) {
	f := v.latest.Load()
	if f == nil {
		return nil, 0
	}
	v.rgbaMu.Lock()
	defer v.rgbaMu.Unlock()
	if v.rgbaSeq != f.seq {
		v.rgba = ycbcrToRGBA(f.img)
		v.rgbaSeq = f.seq
	}
	return v.rgba, f.seq
}

// size returns the latest frame's width and height.
func (v *remoteVideo) size() (int, int) {
	if f := v.latest.Load(); f != nil {
		return f.img.Rect.Dx(), f.img.Rect.Dy()
	}
	return 0, 0
}

// ycbcrToRGBA converts a 4:2:0 frame with BT.601 integer arithmetic; a new
// image each time, so a frame handed out is never written again.
func ycbcrToRGBA(src *image.YCbCr) *image.RGBA {
	b := src.Rect
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		yrow := src.Y[y*src.YStride:]
		crow := (y / 2) * src.CStride
		out := dst.Pix[y*dst.Stride:]
		for x := 0; x < b.Dx(); x++ {
			yy := (int32(yrow[x]) - 16) * 76309
			cb := int32(src.Cb[crow+x/2]) - 128
			cr := int32(src.Cr[crow+x/2]) - 128
			out[4*x] = clamp8((yy + 104597*cr) >> 16)
			out[4*x+1] = clamp8((yy - 25675*cb - 53279*cr) >> 16)
			out[4*x+2] = clamp8((yy + 132201*cb) >> 16)
			out[4*x+3] = 255
		}
	}
	return dst
}

func clamp8(v int32) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	default:
		return uint8(v)
	}
}

// remoteAudio decodes the peer's Opus with pion/opus (pure Go; SILK, CELT
// and hybrid) into 48 kHz mono, measures its level and plays it when an
// output device exists. Playback problems never affect the call.
type remoteAudio struct {
	track   *webrtc.TrackRemote
	speaker *speaker

	mu      sync.Mutex
	sumSq   float64
	samples int
	errors  atomic.Uint64
}

// run decodes until the track ends.
func (a *remoteAudio) run() {
	dec, err := opus.NewDecoderWithOutput(audioRate, 1)
	if err != nil {
		return
	}
	pcm := make([]float32, audioRate*120/1000) // the longest Opus packet
	for {
		pkt, _, err := a.track.ReadRTP()
		if err != nil {
			return
		}
		if len(pkt.Payload) == 0 {
			continue
		}
		n, err := dec.DecodeToFloat32(pkt.Payload, pcm)
		if err != nil {
			a.errors.Add(1)
			continue
		}
		var sq float64
		for _, s := range pcm[:n] {
			sq += float64(s) * float64(s)
		}
		a.mu.Lock()
		a.sumSq += sq
		a.samples += n
		a.mu.Unlock()
		if a.speaker != nil {
			a.speaker.write(pcm[:n])
		}
	}
}

// level returns the level since the last call, 0 (-60 dBFS or quieter) to 1
// (full scale), on a dB scale as level meters show it.
func (a *remoteAudio) level() float64 {
	a.mu.Lock()
	sumSq, n := a.sumSq, a.samples
	a.sumSq, a.samples = 0, 0
	a.mu.Unlock()
	if n == 0 {
		return 0
	}
	rms := math.Sqrt(sumSq / float64(n))
	if rms <= 0 {
		return 0
	}
	db := 20 * math.Log10(rms)
	return math.Max(0, math.Min(1, (db+60)/60))
}

// drainRTCP reads RTCP so that it reaches the interceptors (stack.md: or RTT
// stays 0 and GCC gets no feedback). It returns when the reader closes.
func drainRTCP(read func([]byte) (int, error)) {
	buf := make([]byte, 1500)
	for {
		if _, err := read(buf); err != nil {
			return
		}
	}
}

// pliFor returns a function that asks the sender of track for a key frame.
func pliFor(pc *webrtc.PeerConnection, track *webrtc.TrackRemote) func() {
	return func() {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
	}
}

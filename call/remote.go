package call

import (
	"image"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/opus"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// remoteVideo turns the peer's VP8 RTP into decoded frames: RTP ->
// samplebuilder (one whole frame per sample) -> libvpx decoder, as docs/stack.md ("mediadevices")
// requires ("every Read must return exactly one whole frame").
type remoteVideo struct {
	track *webrtc.TrackRemote
	sb    *samplebuilder.SampleBuilder
	pli   func()
	log   func(msg string, args ...any)

	decoded atomic.Uint64
	errors  atomic.Uint64

	// sync, when set, is told of each flash of the sync mark as its frame
	// becomes available for display (syncmark.go); flash is the decoder
	// goroutine's own.
	sync  atomic.Pointer[syncMeter]
	flash flashDetector
	// playout, when set, is told when each picture is shown (playout.go).
	playout *playoutSync

	// The decoder writes each frame into back and then swaps it with front
	// under mu, so two pictures serve a whole call. frame() converts front
	// under mu too: the decoder waits for one conversion at most.
	back    *image.YCbCr
	mu      sync.Mutex
	front   *image.YCbCr
	seq     uint64 // frames decoded into front
	rgba    *image.RGBA
	rgbaSeq uint64
	// held are copies of the last two frames frame() handed out, at the
	// size they were decoded at, for snapshots: the one on screen may be
	// the one before the latest.
	held [2]heldFrame
}

type heldFrame struct {
	seq uint64
	img *image.YCbCr
}

func newRemoteVideo(track *webrtc.TrackRemote, pli func(), log func(string, ...any)) *remoteVideo {
	return &remoteVideo{
		track: track,
		log:   log,
		sb:    samplebuilder.New(256, &codecs.VP8Packet{}, track.Codec().ClockRate, samplebuilder.WithMaxTimeDelay(400*time.Millisecond)),
		pli:   pli,
	}
}

// next returns the next whole VP8 frame and its RTP timestamp.
func (v *remoteVideo) next() ([]byte, uint32, error) {
	for {
		if s := v.sb.Pop(); s != nil {
			return s.Data, s.PacketTimestamp, nil
		}
		pkt, _, err := v.track.ReadRTP()
		if err != nil {
			return nil, 0, err
		}
		v.sb.Push(pkt)
	}
}

// run decodes until the track ends. It asks for a key frame (PLI) at the
// start and after a decode error, at most twice a second.
func (v *remoteVideo) run() {
	dec, err := newVP8Decoder()
	if err != nil {
		v.log("no video decoder", "err", err)
		return
	}
	defer dec.close()
	v.pli()
	var lastPLI time.Time
	for {
		frame, ts, err := v.next()
		if err != nil {
			return
		}
		img, err := dec.decode(frame, v.back)
		if err == errNoPicture {
			continue
		}
		if err != nil {
			v.log("video decode error", "err", err)
			v.errors.Add(1)
			if time.Since(lastPLI) > 500*time.Millisecond {
				lastPLI = time.Now()
				v.pli()
			}
			continue
		}
		n := v.decoded.Add(1)
		meter := v.sync.Load()
		flash := meter != nil && v.flash.frame(img)
		v.mu.Lock()
		v.back, v.front = v.front, img
		v.seq = n
		v.mu.Unlock()
		shown := time.Now()
		if v.playout != nil {
			v.playout.videoShown(uint32(v.track.SSRC()), ts, float64(v.track.Codec().ClockRate), shown)
		}
		if flash {
			meter.videoMark(shown)
		}
		if n == 1 {
			v.log("first video frame decoded", "width", img.Rect.Dx(), "height", img.Rect.Dy())
		}
	}
}

// frame returns the latest frame as RGBA for display, converting at most
// once per frame. The picture is reduced by an integer factor to at most
// displayW by displayH (see displayScale).
func (v *remoteVideo) frame() (*image.RGBA, uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.front == nil {
		return nil, 0
	}
	if v.rgbaSeq != v.seq {
		v.rgba = ycbcrToRGBA(v.front, displayScale(v.front.Rect.Dx(), v.front.Rect.Dy()))
		v.rgbaSeq = v.seq
		// Keep a copy at full size, in the older slot's buffer: about
		// 50 µs for a VGA frame, at most ten times a second.
		old := &v.held[0]
		if v.held[1].seq < old.seq {
			old = &v.held[1]
		}
		old.img = copyYCbCr(old.img, v.front)
		old.seq = v.seq
	}
	return v.rgba, v.seq
}

// snapshot returns a copy of frame seq as decoded, if it is one of the
// last two handed out.
func (v *remoteVideo) snapshot(seq uint64) (*image.YCbCr, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, h := range v.held {
		if h.img != nil && h.seq == seq {
			return copyYCbCr(nil, h.img), true
		}
	}
	return nil, false
}

// copyYCbCr copies src into dst (reused when it has the same layout) and
// returns it.
func copyYCbCr(dst, src *image.YCbCr) *image.YCbCr {
	if dst == nil || dst.Rect != src.Rect || dst.SubsampleRatio != src.SubsampleRatio || len(dst.Y) != len(src.Y) || len(dst.Cb) != len(src.Cb) {
		dst = &image.YCbCr{
			Y: make([]byte, len(src.Y)), Cb: make([]byte, len(src.Cb)), Cr: make([]byte, len(src.Cr)),
			YStride: src.YStride, CStride: src.CStride, SubsampleRatio: src.SubsampleRatio, Rect: src.Rect,
		}
	}
	copy(dst.Y, src.Y)
	copy(dst.Cb, src.Cb)
	copy(dst.Cr, src.Cr)
	return dst
}

// size returns the latest frame's width and height as decoded.
func (v *remoteVideo) size() (int, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.front == nil {
		return 0, 0
	}
	return v.front.Rect.Dx(), v.front.Rect.Dy()
}

// The largest picture frame() hands out. A terminal shows the patient in at
// most a couple of hundred half-block pixels across, so converting every
// pixel of a VGA or HD frame ten times a second is work thrown away: at
// 640x480 it was a quarter of the console's CPU while the video was shown.
const displayW, displayH = 320, 240

// displayScale returns the integer factor that brings a w by h picture
// within displayW by displayH on at least one side, 1 for smaller ones.
func displayScale(w, h int) int {
	return max(1, min(w/displayW, h/displayH))
}

// ycbcrToRGBA converts a 4:2:0 frame with BT.601 integer arithmetic, each
// output pixel being the mean luma of a k by k block with the chroma at its
// centre; a new image each time, so a frame handed out is never written
// again.
func ycbcrToRGBA(src *image.YCbCr, k int) *image.RGBA {
	b := src.Rect
	w, h := b.Dx()/k, b.Dy()/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if k == 2 {
		halveToRGBA(src, dst)
		return dst
	}
	area := int32(k * k)
	for y := range h {
		crow := ((y*k + k/2) / 2) * src.CStride
		out := dst.Pix[y*dst.Stride:]
		for x := range w {
			var sum int32
			for dy := range k {
				row := src.Y[(y*k+dy)*src.YStride+x*k:]
				for dx := range k {
					sum += int32(row[dx])
				}
			}
			yy := (sum/area - 16) * 76309
			ci := crow + (x*k+k/2)/2
			cb := int32(src.Cb[ci]) - 128
			cr := int32(src.Cr[ci]) - 128
			out[4*x] = clamp8((yy + 104597*cr) >> 16)
			out[4*x+1] = clamp8((yy - 25675*cb - 53279*cr) >> 16)
			out[4*x+2] = clamp8((yy + 132201*cb) >> 16)
			out[4*x+3] = 255
		}
	}
	return dst
}

// halveToRGBA is ycbcrToRGBA for k = 2, the VGA case, with the block loops
// unrolled: each output pixel has exactly one chroma sample.
func halveToRGBA(src *image.YCbCr, dst *image.RGBA) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := range h {
		y0 := src.Y[2*y*src.YStride:]
		y1 := src.Y[(2*y+1)*src.YStride:]
		y0, y1 = y0[:2*w], y1[:2*w]
		cbRow := src.Cb[y*src.CStride:][:w]
		crRow := src.Cr[y*src.CStride:][:w]
		out := dst.Pix[y*dst.Stride:][:4*w]
		for x := range w {
			sum := int32(y0[2*x]) + int32(y0[2*x+1]) + int32(y1[2*x]) + int32(y1[2*x+1])
			yy := (sum>>2 - 16) * 76309
			cb := int32(cbRow[x]) - 128
			cr := int32(crRow[x]) - 128
			px := out[4*x : 4*x+4]
			px[0] = clamp8((yy + 104597*cr) >> 16)
			px[1] = clamp8((yy - 25675*cb - 53279*cr) >> 16)
			px[2] = clamp8((yy + 132201*cb) >> 16)
			px[3] = 255
		}
	}
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
	track *webrtc.TrackRemote
	// speaker is the call's speaker once it is open (it opens while the
	// call rings, localMedia.openSound); nil, or holding nil, plays nothing.
	speaker *atomic.Pointer[speaker]

	mu      sync.Mutex
	sumSq   float64
	samples int
	errors  atomic.Uint64

	// sync, when set, is told of each click of the sync mark as the decoded
	// audio holding it is handed to playback, or would be without a speaker
	// (syncmark.go); click is the decoder goroutine's own.
	sync  atomic.Pointer[syncMeter]
	click clickDetector
	// playout, when set, says how long to hold the sound for the picture
	// (playout.go).
	playout *playoutSync
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
		meter := a.sync.Load()
		var onset int
		var click bool
		if meter != nil {
			onset, click = a.click.feed(pcm[:n])
		}
		handed := time.Now()
		var hold time.Duration
		if a.playout != nil {
			hold = a.playout.audioHold(uint32(a.track.SSRC()), pkt.Timestamp, float64(a.track.Codec().ClockRate), handed)
		}
		if a.speaker != nil {
			if sp := a.speaker.Load(); sp != nil {
				sp.write(pcm[:n], hold)
			}
		}
		if click {
			// The click plays onset samples after the first one handed over,
			// once held.
			meter.audioMark(handed.Add(hold + time.Duration(onset)*time.Second/audioRate))
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

// drainRTCP reads RTCP so that it reaches the interceptors (docs/stack.md, "pion interceptors": or RTT
// stays 0 and GCC gets no feedback), and hands each sender report in it to
// onReport when that is set. It returns when the reader closes.
func drainRTCP(read func([]byte) (int, error), onReport func(*rtcp.SenderReport)) {
	buf := make([]byte, 1500)
	for {
		n, err := read(buf)
		if err != nil {
			return
		}
		if onReport == nil {
			continue
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				onReport(sr)
			}
		}
	}
}

// pliFor returns a function that asks the sender of track for a key frame.
func pliFor(pc *webrtc.PeerConnection, track *webrtc.TrackRemote) func() {
	return func() {
		_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(track.SSRC())}})
	}
}

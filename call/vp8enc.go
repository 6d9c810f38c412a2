package call

// This file is our own VP8 encoder over libvpx. mediadevices' encoder
// (pkg/codec/vpx) offers no way to set libvpx's speed (VP8E_SET_CPUUSED): in
// real-time mode it leaves cpu-used at 0, where libvpx spends the whole frame
// time budget searching (docs/stack.md, "mediadevices"). Measured here,
// encoding was 86% of a call's CPU and the console used more CPU per call
// second than a browser. libwebrtc encodes
// VP8 with a fixed cpu-used and frame dropping on; this encoder does the same, and
// implements mediadevices' codec.ReadCloser, KeyFrameController and
// BitRateController so the rest of the engine uses it unchanged.

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <string.h>
#include <vpx/vpx_encoder.h>
#include <vpx/vp8cx.h>

static vpx_codec_err_t tc_vp8_config(vpx_codec_enc_cfg_t *cfg) {
	return vpx_codec_enc_config_default(vpx_codec_vp8_cx(), cfg, 0);
}

// tc_vp8_init opens an encoder and sets the controls libwebrtc uses for
// real-time VP8 from a camera.
static vpx_codec_err_t tc_vp8_init(vpx_codec_ctx_t *ctx, vpx_codec_enc_cfg_t *cfg, int cpu_used, unsigned int max_intra_pct) {
	vpx_codec_err_t err = vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), cfg, 0);
	if (err != VPX_CODEC_OK) return err;
	if ((err = vpx_codec_control(ctx, VP8E_SET_CPUUSED, cpu_used)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(ctx, VP8E_SET_STATIC_THRESHOLD, 1u)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(ctx, VP8E_SET_NOISE_SENSITIVITY, 0u)) != VPX_CODEC_OK) goto fail;
	if ((err = vpx_codec_control(ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, max_intra_pct)) != VPX_CODEC_OK) goto fail;
	return VPX_CODEC_OK;
fail:
	vpx_codec_destroy(ctx);
	return err;
}

// tc_vp8_encode encodes one I420 picture given by its planes (not copied).
static vpx_codec_err_t tc_vp8_encode(vpx_codec_ctx_t *ctx, int w, int h,
		unsigned char *y, unsigned char *u, unsigned char *v, int ystride, int cstride,
		vpx_codec_pts_t pts, unsigned long duration, vpx_enc_frame_flags_t flags) {
	vpx_image_t img;
	if (vpx_img_wrap(&img, VPX_IMG_FMT_I420, w, h, 1, y) == NULL) return VPX_CODEC_INVALID_PARAM;
	img.planes[VPX_PLANE_Y] = y;
	img.planes[VPX_PLANE_U] = u;
	img.planes[VPX_PLANE_V] = v;
	img.stride[VPX_PLANE_Y] = ystride;
	img.stride[VPX_PLANE_U] = cstride;
	img.stride[VPX_PLANE_V] = cstride;
	return vpx_codec_encode(ctx, &img, pts, duration, flags, VPX_DL_REALTIME);
}

// tc_vp8_frame returns the next compressed frame of the last encode, or 0.
static int tc_vp8_frame(vpx_codec_ctx_t *ctx, vpx_codec_iter_t *iter, const void **buf, size_t *size) {
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(ctx, iter)) != NULL) {
		if (pkt->kind == VPX_CODEC_CX_FRAME_PKT) {
			*buf = pkt->data.frame.buf;
			*size = pkt->data.frame.sz;
			return 1;
		}
	}
	return 0;
}

static vpx_codec_ctx_t *tc_ctx_new(void) { return calloc(1, sizeof(vpx_codec_ctx_t)); }
static vpx_codec_enc_cfg_t *tc_cfg_new(void) { return calloc(1, sizeof(vpx_codec_enc_cfg_t)); }
*/
import "C"

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"io"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/pion/mediadevices/pkg/codec"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// vp8Speed is libvpx's cpu-used for real-time VP8 pictures of w x h on a
// machine with the given cores: negative values fix the speed (further from
// zero is faster and a little worse per bit). -6 is libwebrtc's desktop
// setting; with two cores or fewer, a clinic PC that also draws the TUI,
// -12 halves the encoder's cost again (measured: 0.20 to 0.16 CPU-s per call
// second per side at 640x480, 30 fps). Pictures under CIF are cheap, so
// they get the better -4.
func vp8Speed(cores, w, h int) int {
	switch {
	case w*h < 352*288:
		return -4
	case cores <= 2:
		return -12
	default:
		return -6
	}
}

// vp8Encoder encodes a video.Reader's pictures into VP8 frames.
type vp8Encoder struct {
	r      video.Reader
	fps    int
	start  time.Time
	keyGap uint // frames between automatic key frames

	mu       sync.Mutex
	ctx      *C.vpx_codec_ctx_t
	cfg      *C.vpx_codec_enc_cfg_t
	open     bool
	w, h     int
	bitrate  int // bit/s wanted
	applied  int // bit/s in cfg
	lastPTS  int64
	forceKey bool
	closed   bool

	// captured, when set, is told the capture instant of each picture Read
	// returns encoded: when its source handed it over (captureclock.go).
	captured func(time.Time)
}

// newVP8Encoder returns an encoder of r's pictures at bitrate bit/s, with a
// key frame at least every keyGap frames (0: every minute).
func newVP8Encoder(r video.Reader, p prop.Media, bitrate, keyGap int) (*vp8Encoder, error) {
	fps := int(p.FrameRate)
	if fps <= 0 {
		fps = defaultFPS
	}
	e := &vp8Encoder{
		r:       video.ToI420(r),
		fps:     fps,
		start:   time.Now(),
		keyGap:  uint(cmp.Or(keyGap, fps*60)),
		ctx:     C.tc_ctx_new(),
		cfg:     C.tc_cfg_new(),
		bitrate: bitrate,
	}
	if e.ctx == nil || e.cfg == nil {
		e.free()
		return nil, errors.New("call: VP8 encoder: out of memory")
	}
	if err := vpxErr("encoder: default config", C.tc_vp8_config(e.cfg)); err != nil {
		e.free()
		return nil, err
	}
	return e, nil
}

// vpxErr is libvpx's status code as an error naming what failed, nil for
// VPX_CODEC_OK.
func vpxErr(what string, code C.vpx_codec_err_t) error {
	if code == C.VPX_CODEC_OK {
		return nil
	}
	return fmt.Errorf("call: VP8 %s: %s", what, C.GoString(C.vpx_codec_err_to_string(code)))
}

// configure (re)opens the encoder for pictures of w x h. Callers hold mu.
func (e *vp8Encoder) configure(w, h int) error {
	if e.open {
		C.vpx_codec_destroy(e.ctx)
		e.open = false
	}
	c := e.cfg
	c.g_w, c.g_h = C.uint(w), C.uint(h)
	c.g_timebase.num, c.g_timebase.den = 1, 1000 // pts in milliseconds
	c.g_threads = 1
	c.g_lag_in_frames = 0
	c.g_error_resilient = C.VPX_ERROR_RESILIENT_DEFAULT
	c.g_pass = C.VPX_RC_ONE_PASS
	c.rc_end_usage = C.VPX_CBR
	c.rc_target_bitrate = C.uint(max(e.bitrate/1000, 1))
	c.rc_min_quantizer, c.rc_max_quantizer = 2, 56
	c.rc_undershoot_pct, c.rc_overshoot_pct = 100, 15
	c.rc_buf_initial_sz, c.rc_buf_optimal_sz, c.rc_buf_sz = 500, 600, 1000
	c.rc_dropframe_thresh = 30 // drop a frame rather than blow the budget
	c.kf_mode = C.VPX_KF_AUTO
	c.kf_max_dist = C.uint(e.keyGap)
	// A key frame may use this much of a frame's budget, in percent, so it
	// does not stall a slow link (libwebrtc's rule: half the optimal buffer,
	// in frames, at least 300%).
	maxIntra := C.uint(max(300, 600*e.fps/2/10))
	speed := C.int(vp8Speed(runtime.NumCPU(), w, h))
	if err := vpxErr("encoder: init", C.tc_vp8_init(e.ctx, e.cfg, speed, maxIntra)); err != nil {
		return err
	}
	e.open, e.w, e.h, e.applied = true, w, h, e.bitrate
	return nil
}

// Read encodes the next picture and returns its VP8 frame. Pictures the
// rate control drops produce nothing, so Read goes on to the next.
func (e *vp8Encoder) Read() ([]byte, func(), error) {
	for {
		img, release, err := e.r.Read()
		if err != nil {
			return nil, func() {}, err
		}
		at := time.Now()
		frame, err := e.encode(img)
		release()
		if err == nil && frame != nil && e.captured != nil {
			e.captured(at)
		}
		if err != nil || frame != nil {
			return frame, func() {}, err
		}
	}
}

func (e *vp8Encoder) encode(img image.Image) ([]byte, error) {
	yuv, ok := img.(*image.YCbCr)
	if !ok || yuv.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return nil, fmt.Errorf("call: VP8 encoder wants I420 pictures, got %T", img)
	}
	b := yuv.Rect
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("call: VP8 encoder: empty picture %v", b)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, io.EOF
	}
	if !e.open || w != e.w || h != e.h {
		if err := e.configure(w, h); err != nil {
			return nil, err
		}
	}
	if e.bitrate != e.applied {
		e.cfg.rc_target_bitrate = C.uint(max(e.bitrate/1000, 1))
		if err := vpxErr("encoder: set bit rate", C.vpx_codec_enc_config_set(e.ctx, e.cfg)); err != nil {
			return nil, err
		}
		e.applied = e.bitrate
	}
	var flags C.vpx_enc_frame_flags_t
	if e.forceKey {
		flags |= C.VPX_EFLAG_FORCE_KF
		e.forceKey = false
	}
	// The planes start at the picture's origin, which need not be (0,0).
	y := unsafe.Pointer(&yuv.Y[yuv.YOffset(b.Min.X, b.Min.Y)])
	u := unsafe.Pointer(&yuv.Cb[yuv.COffset(b.Min.X, b.Min.Y)])
	v := unsafe.Pointer(&yuv.Cr[yuv.COffset(b.Min.X, b.Min.Y)])
	// Time stamps in milliseconds of real time, so a throttled or stalled
	// source is rated as it is; but never closer than the nominal frame
	// interval, which a real source cannot beat.
	step := int64(1000 / e.fps)
	pts := max(time.Since(e.start).Milliseconds(), e.lastPTS+step)
	duration := C.ulong(pts - e.lastPTS)
	e.lastPTS = pts
	if err := vpxErr("encoder: encode", C.tc_vp8_encode(e.ctx, C.int(w), C.int(h),
		(*C.uchar)(y), (*C.uchar)(u), (*C.uchar)(v), C.int(yuv.YStride), C.int(yuv.CStride),
		C.vpx_codec_pts_t(pts), duration, flags)); err != nil {
		return nil, err
	}
	var iter C.vpx_codec_iter_t
	var buf unsafe.Pointer
	var size C.size_t
	if C.tc_vp8_frame(e.ctx, &iter, &buf, &size) == 0 {
		return nil, nil // dropped by rate control
	}
	return C.GoBytes(buf, C.int(size)), nil
}

// Controller returns the encoder itself: it takes key-frame requests and
// bit-rate changes (codec.KeyFrameController, codec.BitRateController).
func (e *vp8Encoder) Controller() codec.EncoderController { return e }

// ForceKeyFrame makes the next frame a key frame (after a PLI, or when the
// call connects and the first key frame may have been lost).
func (e *vp8Encoder) ForceKeyFrame() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forceKey = true
	return nil
}

// SetBitRate sets the target in bit/s; it applies from the next frame.
func (e *vp8Encoder) SetBitRate(bps int) error {
	if bps <= 0 {
		return fmt.Errorf("call: VP8 encoder: bit rate %d", bps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bitrate = bps
	return nil
}

// Close releases libvpx's encoder. Read returns io.EOF afterwards.
func (e *vp8Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.closed {
		e.closed = true
		e.free()
	}
	return nil
}

// free releases the C memory. Callers hold mu, or own e alone.
func (e *vp8Encoder) free() {
	if e.open {
		C.vpx_codec_destroy(e.ctx)
		e.open = false
	}
	C.free(unsafe.Pointer(e.ctx))
	C.free(unsafe.Pointer(e.cfg))
	e.ctx, e.cfg = nil, nil
}

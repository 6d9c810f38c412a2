package call

// This file is our own VP8 decoder over libvpx. mediadevices' decoder
// (pkg/codec/vpx) allocates a new picture for every frame and copies libvpx's
// planes into it: at VGA and 30 fps that is 14 MB a second of garbage, and
// measured here the allocation, zeroing and collection cost half as much
// again as the decoding itself. This one copies each frame into a picture the
// caller hands back, so a call allocates nothing per frame.

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

static vpx_codec_ctx_t *tc_vp8d_new(vpx_codec_err_t *err) {
	vpx_codec_ctx_t *ctx = calloc(1, sizeof(vpx_codec_ctx_t));
	if (ctx == NULL) {
		*err = VPX_CODEC_MEM_ERROR;
		return NULL;
	}
	*err = vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), NULL, 0);
	if (*err != VPX_CODEC_OK) {
		free(ctx);
		return NULL;
	}
	return ctx;
}

static void tc_vp8d_free(vpx_codec_ctx_t *ctx) {
	vpx_codec_destroy(ctx);
	free(ctx);
}

// tc_vp8d_result is returned by value: an out-parameter would make Go
// allocate it on the heap at every frame.
typedef struct {
	vpx_image_t *img; // the picture to show, NULL if none
	vpx_codec_err_t err;
} tc_vp8d_result;

// tc_vp8d_decode decodes one whole frame.
static tc_vp8d_result tc_vp8d_decode(vpx_codec_ctx_t *ctx, const unsigned char *data, unsigned int size) {
	tc_vp8d_result r = {NULL, VPX_CODEC_OK};
	vpx_codec_iter_t iter = NULL;
	r.err = vpx_codec_decode(ctx, data, size, NULL, 0);
	if (r.err == VPX_CODEC_OK) r.img = vpx_codec_get_frame(ctx, &iter);
	return r;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// vp8Decoder decodes whole VP8 frames, one per call, in order.
type vp8Decoder struct {
	ctx *C.vpx_codec_ctx_t
}

func newVP8Decoder() (*vp8Decoder, error) {
	var cerr C.vpx_codec_err_t
	ctx := C.tc_vp8d_new(&cerr)
	if ctx == nil {
		return nil, vpxErr("decoder: init", cerr)
	}
	return &vp8Decoder{ctx: ctx}, nil
}

// errNoPicture is decode's answer to a frame that shows no picture (libvpx
// keeps it as a reference only).
var errNoPicture = errors.New("call: VP8 frame shows no picture")

// decode decodes one whole VP8 frame into dst and returns it, or a new
// picture when dst is nil or of another size. The picture is 4:2:0 with its
// origin at 0,0.
func (d *vp8Decoder) decode(frame []byte, dst *image.YCbCr) (*image.YCbCr, error) {
	if d.ctx == nil {
		return nil, errors.New("call: VP8 decoder is closed")
	}
	if len(frame) == 0 {
		return nil, errors.New("call: empty VP8 frame")
	}
	// libvpx reads frame during the call only, and frame holds no Go pointers.
	r := C.tc_vp8d_decode(d.ctx, (*C.uchar)(unsafe.Pointer(&frame[0])), C.uint(len(frame)))
	if r.err != C.VPX_CODEC_OK {
		return nil, vpxErr("decoder: decode", r.err)
	}
	img := r.img
	if img == nil {
		return nil, errNoPicture
	}
	if img.fmt != C.VPX_IMG_FMT_I420 {
		return nil, fmt.Errorf("call: VP8 picture in libvpx format %d, want I420", int(img.fmt))
	}
	w, h := int(img.d_w), int(img.d_h)
	if dst == nil || dst.Rect.Dx() != w || dst.Rect.Dy() != h {
		dst = image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	}
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(dst.Y, dst.YStride, img.planes[0], int(img.stride[0]), w, h)
	copyPlane(dst.Cb, dst.CStride, img.planes[1], int(img.stride[1]), cw, ch)
	copyPlane(dst.Cr, dst.CStride, img.planes[2], int(img.stride[2]), cw, ch)
	return dst, nil
}

// copyPlane copies rows of w bytes from libvpx's plane into a Go one.
func copyPlane(dst []byte, dstStride int, src *C.uchar, srcStride, w, h int) {
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), (h-1)*srcStride+w)
	for y := range h {
		copy(dst[y*dstStride:y*dstStride+w], s[y*srcStride:y*srcStride+w])
	}
}

// close releases libvpx's decoder; decode fails afterwards.
func (d *vp8Decoder) close() {
	if d.ctx != nil {
		C.tc_vp8d_free(d.ctx)
		d.ctx = nil
	}
}

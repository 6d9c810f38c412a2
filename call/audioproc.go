package call

/*
#cgo pkg-config: webrtc-audio-processing speexdsp
#cgo CXXFLAGS: -std=c++11
#cgo LDFLAGS: -lstdc++
#include <stdlib.h>
#include "apm.h"
#include "speex.h"
*/
import "C"

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// AudioProcessing says which of the microphone's processing steps run. The
// zero value turns everything off; DefaultAudioProcessing is what a call
// uses unless told otherwise.
type AudioProcessing struct {
	// EchoCancellation removes what the speaker plays from the microphone.
	EchoCancellation bool
	// NoiseSuppression takes steady background noise out.
	NoiseSuppression bool
	// GainControl brings the voice to a steady level.
	GainControl bool
	// Speex runs the steps with speexdsp's echo canceller and preprocessor
	// instead of WebRTC's module; kept to measure one against the other
	// (docs/guide.md, "Hearing and being heard").
	Speex bool
}

// DefaultAudioProcessing is everything on, as a browser does for
// getUserMedia audio.
func DefaultAudioProcessing() AudioProcessing {
	return AudioProcessing{EchoCancellation: true, NoiseSuppression: true, GainControl: true}
}

// Any reports whether at least one step is on.
func (p AudioProcessing) Any() bool {
	return p.EchoCancellation || p.NoiseSuppression || p.GainControl
}

// String names the steps that are on, "aec+ns+agc", or "off".
func (p AudioProcessing) String() string {
	var s string
	for _, step := range []struct {
		on   bool
		name string
	}{{p.EchoCancellation, "aec"}, {p.NoiseSuppression, "ns"}, {p.GainControl, "agc"}} {
		if !step.on {
			continue
		}
		if s != "" {
			s += "+"
		}
		s += step.name
	}
	if s == "" {
		return "off"
	}
	if p.Speex {
		s = "speex:" + s
	}
	return s
}

// apmFrame is the module's unit: 10 ms at the call's rate.
const apmFrame = audioRate / 100

// audioProcessor runs WebRTC's audio processing module (apm.cc) on the
// microphone, with what the speaker plays as the echo canceller's far end.
// The module wants whole 10 ms frames; the devices' callbacks deliver
// whatever period they got, so each side gathers its frames here. The
// render side (speaker) and the capture side (microphone) run on their own
// audio threads; the module allows that (its header: stream functions are
// never called concurrently with ProcessStream, render has its own lock),
// so each side has a lock of its own for its buffer only.
type audioProcessor struct {
	steps AudioProcessing
	p     *C.tc_apm
	// sp is speexdsp's canceller when steps.Speex (p is nil then). Its two
	// sides share state: captured also takes renderMu around it.
	sp *C.tc_speex

	renderMu  sync.Mutex
	render    []int16
	renderBuf *C.int16_t

	captureMu  sync.Mutex
	capture    []int16
	captureBuf *C.int16_t
	delayMs    int

	// The echo gate (gateFrame): farLevel is the far end's recent mean
	// square, float64 bits, kept by played; gain is the gate's, captured's.
	farLevel atomic.Uint64
	gain     float64

	closeOnce sync.Once
}

// newAudioProcessor starts the module with the steps asked for.
func newAudioProcessor(steps AudioProcessing) (*audioProcessor, error) {
	size := C.size_t(apmFrame * 2)
	if steps.Speex {
		// A 250 ms filter: the sound server, the speaker's buffer and a room.
		sp := C.tc_speex_new(C.int(audioRate), 250, cBool(steps.EchoCancellation), cBool(steps.NoiseSuppression), cBool(steps.GainControl))
		if sp == nil {
			return nil, fmt.Errorf("%w: speexdsp refused %s", ErrAudioProcessing, steps)
		}
		return &audioProcessor{steps: steps, sp: sp,
			renderBuf: (*C.int16_t)(C.malloc(size)), captureBuf: (*C.int16_t)(C.malloc(size))}, nil
	}
	p := C.tc_apm_new(C.int(audioRate), cBool(steps.EchoCancellation), cBool(steps.NoiseSuppression), cBool(steps.GainControl))
	if p == nil {
		return nil, fmt.Errorf("%w: webrtc audio processing refused %s at %d Hz", ErrAudioProcessing, steps, audioRate)
	}
	return &audioProcessor{
		steps: steps, p: p,
		renderBuf:  (*C.int16_t)(C.malloc(size)),
		captureBuf: (*C.int16_t)(C.malloc(size)),
	}, nil
}

// freeC frees C memory malgo allocated (DeviceID.Pointer).
func freeC(p unsafe.Pointer) { C.free(p) }

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// played takes samples as the speaker hands them to the device.
func (a *audioProcessor) played(pcm []int16) {
	a.renderMu.Lock()
	defer a.renderMu.Unlock()
	if a.p == nil && a.sp == nil {
		return
	}
	a.render = append(a.render, pcm...)
	buf := unsafe.Slice((*int16)(unsafe.Pointer(a.renderBuf)), apmFrame)
	for len(a.render) >= apmFrame {
		copy(buf, a.render[:apmFrame])
		if a.sp != nil {
			C.tc_speex_render(a.sp, a.renderBuf)
		} else {
			C.tc_apm_render(a.p, a.renderBuf, C.int(apmFrame))
		}
		// A peak that falls 1 dB a frame: the far end counts as talking
		// for about 300 ms after it last did.
		far := max(meanSquare(buf), math.Float64frombits(a.farLevel.Load())*0.8)
		a.farLevel.Store(math.Float64bits(far))
		a.render = a.render[:copy(a.render, a.render[apmFrame:])]
	}
}

// captured processes the microphone's samples and returns whole processed
// frames; what is left of a frame waits for the next call. out is reused
// if it has room.
func (a *audioProcessor) captured(pcm, out []int16) []int16 {
	a.captureMu.Lock()
	defer a.captureMu.Unlock()
	if a.p == nil && a.sp == nil {
		return append(out[:0], pcm...)
	}
	a.capture = append(a.capture, pcm...)
	out = out[:0]
	buf := unsafe.Slice((*int16)(unsafe.Pointer(a.captureBuf)), apmFrame)
	for len(a.capture) >= apmFrame {
		copy(buf, a.capture[:apmFrame])
		in := meanSquare(buf)
		if a.sp != nil {
			a.renderMu.Lock()
			C.tc_speex_capture(a.sp, a.captureBuf)
			a.renderMu.Unlock()
		} else if C.tc_apm_capture(a.p, a.captureBuf, C.int(apmFrame), C.int(a.delayMs)) != 0 {
			// A frame the module refused goes out as it came.
			copy(buf, a.capture[:apmFrame])
		} else if a.steps.EchoCancellation {
			a.gateFrame(buf, in)
		}
		out = append(out, buf...)
		a.capture = a.capture[:copy(a.capture, a.capture[apmFrame:])]
	}
	return out
}

// The echo gate. WebRTC's canceller in Debian's module (the classic AEC)
// leaves echo 26 to 40 dB down in the echo test (systest/echo_test.go),
// where a browser's newer canceller left next to nothing in one run (70 dB)
// while only the far end talked. So, as that one's suppressor does: while
// the far end talks and the canceller took more than gateDrop off a frame
// (the microphone heard echo alone), the frame is attenuated to gateFloor.
// Measured: the echo test's ERLE went from 36.7 to 60.8 dB; in full double
// talk (TestAudioProcessorDoubleTalk) the doctor's voice comes out 17.0 dB
// down against 14.8 dB with the canceller alone (at a gateDrop of 12 dB it
// was 21.7: the canceller itself takes about 15 dB off a frame of double
// talk, so the gate must ask for more than that).
const (
	gateDrop  = 20.0 // dB the canceller must remove for the gate to close
	gateFloor = 0.03 // the closed gate's gain, -30 dB
	farActive = 1e4  // far-end mean square (RMS 100 of 32767) that counts as talking
	gateOpen  = 0.25 // the gain's rise a frame when opening (fully open in 40 ms)
)

// gateFrame applies the echo gate to one processed frame; in is the
// frame's mean square before processing.
func (a *audioProcessor) gateFrame(buf []int16, in float64) {
	target := 1.0
	far := math.Float64frombits(a.farLevel.Load())
	if far > farActive && meanSquare(buf) < in*math.Pow(10, -gateDrop/10) {
		target = gateFloor
	}
	if a.gain == 0 {
		a.gain = 1
	}
	if target < a.gain {
		a.gain = target // close at once: the echo is already there
	} else {
		a.gain = min(target, a.gain+gateOpen)
	}
	if a.gain == 1 {
		return
	}
	for i, v := range buf {
		buf[i] = int16(float64(v) * a.gain)
	}
}

func meanSquare(pcm []int16) float64 {
	var sq float64
	for _, v := range pcm {
		sq += float64(v) * float64(v)
	}
	return sq / float64(max(1, len(pcm)))
}

// close frees the module. Neither side may be used after it.
func (a *audioProcessor) close() {
	a.closeOnce.Do(func() {
		// captured takes captureMu then renderMu: the same order here.
		a.captureMu.Lock()
		a.renderMu.Lock()
		if a.sp != nil {
			C.tc_speex_free(a.sp)
		} else {
			C.tc_apm_free(a.p)
		}
		C.free(unsafe.Pointer(a.renderBuf))
		C.free(unsafe.Pointer(a.captureBuf))
		a.p, a.sp = nil, nil
		a.renderMu.Unlock()
		a.captureMu.Unlock()
	})
}

// startAudioProcessing starts the processing the engine was configured with
// for a call's microphone, and says what is on. A module that fails to
// start leaves the microphone unprocessed, logged and said ("off").
func (e *Engine) startAudioProcessing() (*audioProcessor, string) {
	if !e.audioProc.Any() {
		return nil, AudioProcessing{}.String()
	}
	ap, err := newAudioProcessor(e.audioProc)
	if err != nil {
		e.log.Warn("microphone unprocessed", "err", err)
		return nil, AudioProcessing{}.String()
	}
	return ap, e.audioProc.String()
}

// closeProcessing ends the microphone's processing, if any; a speaker still
// playing then stops feeding it.
func (m *localMedia) closeProcessing() {
	if m.proc != nil {
		m.proc.close()
	}
}

// AudioProcessing says which processing runs on this call's microphone,
// e.g. "aec+ns+agc"; "off" when it runs unprocessed, "" when the call's
// sound is not a microphone (the synthetic tone needs none).
func (s *Session) AudioProcessing() string { return *s.media.processing.Load() }

// ParseAudioProcessing reads a flag's value: "on" (everything), "off"
// (nothing), or the steps wanted joined by "," or "+", of aec (echo
// cancellation), ns (noise suppression) and agc (gain control); with the
// prefix "speex:" (or "speex" alone for everything) speexdsp runs them.
func ParseAudioProcessing(s string) (AudioProcessing, error) {
	s = strings.TrimSpace(s)
	var p AudioProcessing
	if rest, ok := strings.CutPrefix(s, "speex"); ok {
		p.Speex = true
		s = strings.TrimPrefix(rest, ":")
		if s == "" {
			s = "on"
		}
	}
	switch s {
	case "on", "":
		d := DefaultAudioProcessing()
		d.Speex = p.Speex
		return d, nil
	case "off":
		return AudioProcessing{}, nil
	}
	for _, step := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '+' }) {
		switch strings.TrimSpace(step) {
		case "aec":
			p.EchoCancellation = true
		case "ns":
			p.NoiseSuppression = true
		case "agc":
			p.GainControl = true
		default:
			return AudioProcessing{}, fmt.Errorf("%w: audio processing %q (want on, off, or some of aec,ns,agc)", ErrInvalidOption, step)
		}
	}
	return p, nil
}

// AudioProcessing says what runs on the microphone calls use, e.g.
// "aec+ns+agc" or "off"; "" when calls have no microphone.
func (e *Engine) AudioProcessing() string {
	if e.media == MediaSynthetic || (e.media == MediaAuto && !e.hasMic.Load()) {
		return ""
	}
	return e.audioProc.String()
}

package call

import (
	"fmt"
	"image"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/mediadevices"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/mediadevices/pkg/wave"
)

// A call's devices open while it rings. Opening them is I/O (a connection
// to the sound server and a stream on it, 3 ms each on this machine's
// PulseAudio; a camera's driver, more), and the OFFER needs none of them:
// pion writes the tracks' codecs into it, and reads the tracks only once
// the ANSWER is applied. So the tracks are made on lateSources, which send
// silence or black until their device is open, and openDevices runs beside
// the signalling. A device that fails to open is replaced (the synthetic
// picture or tone with MediaAuto, black or silence with MediaDevices, the
// level meter alone for the speaker) and, if it was there at the last look,
// the call screen says so. Every call looks for the microphone and the
// speaker again, so one plugged in after the console started, or back
// after it was lost, is used by the next call. (Cameras are those
// mediadevices found at the start: its Initialize, which looks again, drops
// every camera it knew, an open one too.)

// openDevices opens the call's camera (if cam), microphone (if mic) and
// speaker (if spk), side by side, and closes m.soundDone when all are open
// or given up.
func (m *localMedia) openDevices(callID string, cam, mic, spk bool) {
	defer close(m.soundDone)
	e := m.e
	// The processing first: the speaker feeds its echo canceller.
	if mic {
		var processing string
		m.proc, processing = e.startAudioProcessing()
		m.setProcessing(processing)
	}
	var wg sync.WaitGroup
	if cam {
		wg.Go(func() { m.openCallCamera(callID) })
	}
	if spk {
		proc := m.proc
		wg.Go(func() { m.openCallSpeaker(proc) })
	}
	if mic {
		m.openCallMic(callID)
	}
	wg.Wait()
}

// openCallCamera opens the camera and hands the call's picture on to it,
// or to what replaces it.
func (m *localMedia) openCallCamera(callID string) {
	e := m.e
	in, err := e.openCam()
	if err == nil {
		m.cam.attach(in)
		return
	}
	var instead sourceInput[image.Image]
	how := "black"
	if e.media == MediaAuto {
		if e.picture != nil {
			instead, how = newStillVideo(callID+"-picture", e.picture, e.width, e.height, e.fps, nil), "a still picture"
		} else {
			src := newSyntheticVideo(callID+"-synthetic", e.width, e.height, e.fps, e.now, nil)
			src.captured = m.capture.sourceCaptured
			instead, how = src, "a test picture"
		}
	}
	e.log.Warn("camera unavailable", "err", err, "instead", how)
	m.camNote.Store(ptrTo("camera failed: the patient sees " + how))
	m.deviceIs(&m.cameraOn, false)
	m.cam.attach(instead)
}

// openCamera opens the best camera for the configured size and rate, as
// raw pictures (the call's track encodes them).
func (e *Engine) openCamera() (sourceInput[image.Image], error) {
	var id string
	if e.cameraName != "" {
		var err error
		if id, err = cameraID(e.cameraName); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrNoCamera, err)
		}
	}
	stream, err := mediadevices.GetUserMedia(mediadevices.MediaStreamConstraints{
		Video: func(c *mediadevices.MediaTrackConstraints) {
			c.Width = prop.Int(e.width)
			c.Height = prop.Int(e.height)
			c.FrameRate = prop.Float(e.fps)
			if id != "" {
				c.DeviceID = prop.String(id)
			}
		},
	})
	if err != nil {
		// docs/stack.md, "mediadevices": with no camera this is "failed to find the best driver
		// that fits the constraints"; say it plainly.
		return nil, fmt.Errorf("%w: %v", ErrNoCamera, err)
	}
	tracks := stream.GetVideoTracks()
	if len(tracks) == 0 {
		return nil, ErrNoCamera
	}
	vt, ok := tracks[0].(*mediadevices.VideoTrack)
	if !ok {
		_ = tracks[0].Close()
		return nil, fmt.Errorf("%w: a camera track of type %T", ErrNoCamera, tracks[0])
	}
	return cameraInput{track: vt, r: vt.NewReader(false)}, nil
}

// cameraInput is an open camera's pictures; closing it closes the driver.
type cameraInput struct {
	track *mediadevices.VideoTrack
	r     video.Reader
}

func (c cameraInput) Read() (image.Image, func(), error) { return c.r.Read() }
func (c cameraInput) Close() error                       { return c.track.Close() }

// openCallMic opens the microphone and hands the call's sound on to it, or
// to what replaces it.
func (m *localMedia) openCallMic(callID string) {
	e := m.e
	in, err := e.openMic(callID+"-mic", e.micName, m.proc)
	if err == nil {
		if !e.hasMic.Swap(true) {
			m.deviceIs(&m.micOn, true) // not there at the last look
		}
		m.mic.attach(in)
		return
	}
	expected := e.hasMic.Swap(false) || e.media == MediaDevices
	m.closeProcessing()
	m.setProcessing("")
	var instead sourceInput[wave.Audio]
	how := "silence"
	if e.media == MediaAuto {
		tone := newSyntheticTone(callID+"-tone", nil)
		tone.captured = m.capture.audioSourceCaptured
		instead, how = tone, "a tone"
	}
	e.log.Warn("microphone unavailable", "err", err, "instead", how, "expected", expected)
	if expected {
		m.micNote.Store(ptrTo("microphone failed: the patient hears " + how))
	}
	m.deviceIs(&m.micOn, false)
	m.mic.attach(instead)
}

// openCallSpeaker opens the speaker; without one the patient's sound is
// only measured (Stats.AudioLevel).
func (m *localMedia) openCallSpeaker(proc *audioProcessor) {
	e := m.e
	sp, err := e.openSpk(e.speakerName, proc)
	if err != nil {
		expected := e.hasSpeaker.Swap(false)
		e.log.Warn("no audio playback; level meter only", "err", err, "expected", expected)
		if e.speakerName != "" {
			// The speaker the doctor chose failed: that is theirs to
			// see to.
			m.spkNote.Store(ptrTo("speaker failed: the patient on the meter only"))
		} else {
			// No speaker the system would play on (no sound server,
			// no sound card): nothing failed, the meter stands in.
			m.spkRemark.Store(ptrTo(NoSpeakerRemark))
		}
		return
	}
	e.hasSpeaker.Store(true)
	m.speaker.Store(sp)
}

// deviceIs records whether the camera or the microphone (on) is the
// call's after all, and says so in the call's source.
func (m *localMedia) deviceIs(on *atomic.Bool, v bool) {
	m.srcMu.Lock() // the camera's and the microphone's openings both say it
	defer m.srcMu.Unlock()
	on.Store(v)
	m.setSource(describeSource(m.e.media, m.cameraOn.Load(), m.micOn.Load()))
}

// setSource records in plain words where the call's media come from, for
// the call and for the engine (Engine.MediaSource).
func (m *localMedia) setSource(src string) {
	m.source.Store(&src)
	m.e.source.Store(&src)
}

func (m *localMedia) setProcessing(p string) { m.processing.Store(&p) }

// deviceNote says on the call screen (Stats.Note) what became of the
// camera, the microphone and the speaker: failed to open, or lost mid-call (a
// microphone that delivers nothing, a speaker that asks for nothing); empty
// when all is well.
func (m *localMedia) deviceNote(now time.Time) string {
	var notes []string
	if n := m.camNote.Load(); n != nil {
		notes = append(notes, *n)
	}
	if n := m.micNote.Load(); n != nil {
		notes = append(notes, *n)
	} else if m.mic != nil {
		if in, ok := m.mic.input().(interface{ isLost() bool }); ok && in.isLost() {
			notes = append(notes, "microphone lost: the patient hears silence")
		}
	}
	if n := m.spkNote.Load(); n != nil {
		notes = append(notes, *n)
	} else if sp := m.speaker.Load(); sp != nil && sp.stalled(now) {
		notes = append(notes, "speaker lost: the patient on the meter only")
	}
	return strings.Join(notes, "; ")
}

// NoSpeakerRemark is Stats.Remark when the system has no speaker to play
// the patient's sound on.
const NoSpeakerRemark = "no speaker: sound shown on the meter"

// deviceRemark is Stats.Remark: what the call screen says calmly of the
// devices.
func (m *localMedia) deviceRemark() string {
	if r := m.spkRemark.Load(); r != nil {
		return *r
	}
	return ""
}

func ptrTo(s string) *string { return &s }

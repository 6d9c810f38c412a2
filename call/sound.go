package call

import (
	"strings"
	"sync"
	"time"
)

// A call's microphone and speaker open while it rings. Opening them is I/O
// (a connection to the sound server, a stream on it: tens of milliseconds,
// more on a busy machine), and the OFFER needs neither: pion writes the
// track's codec into it, and reads the track only once the ANSWER is
// applied. So the track is made on a lateMic, which sends silence until its
// device is open, and openSound runs beside the signalling. A device that
// fails to open is replaced (the synthetic tone with MediaAuto, silence with
// MediaDevices, the level meter alone for the speaker) and, if it was there
// at the last look, the call screen says so. Every call looks again, so a
// device plugged in after the console started, or back after it was lost,
// is used by the next call.

// openSound opens the call's microphone (if mic) and speaker (if spk),
// side by side, and closes m.soundDone when both are open or given up.
func (m *localMedia) openSound(callID string, mic, spk bool) {
	defer close(m.soundDone)
	e := m.e
	// The processing first: the speaker feeds its echo canceller.
	if mic {
		var processing string
		m.proc, processing = e.startAudioProcessing()
		m.setProcessing(processing)
	}
	var wg sync.WaitGroup
	if spk {
		proc := m.proc
		wg.Go(func() { m.openCallSpeaker(proc) })
	}
	if mic {
		m.openCallMic(callID)
	}
	wg.Wait()
}

// openCallMic opens the microphone and hands the call's sound on to it, or
// to what replaces it.
func (m *localMedia) openCallMic(callID string) {
	e := m.e
	in, err := e.openMic(callID+"-mic", e.micName, m.proc)
	if err == nil {
		e.hasMic.Store(true)
		m.mic.attach(in)
		return
	}
	expected := e.hasMic.Swap(false) || e.media == MediaDevices
	m.closeProcessing()
	m.setProcessing("")
	var instead audioInput
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
	m.setSource(describeSource(e.media, m.camera, false))
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
		if expected {
			m.spkNote.Store(ptrTo("speaker failed: the patient on the meter only"))
		}
		return
	}
	e.hasSpeaker.Store(true)
	m.speaker.Store(sp)
}

// setSource records in plain words where the call's media come from, for
// the call and for the engine (Engine.MediaSource).
func (m *localMedia) setSource(src string) {
	m.source.Store(&src)
	m.e.source.Store(&src)
}

func (m *localMedia) setProcessing(p string) { m.processing.Store(&p) }

// deviceNote says on the call screen (Stats.Note) what became of the
// microphone and the speaker: failed to open, or lost mid-call (a
// microphone that delivers nothing, a speaker that asks for nothing); empty
// when all is well.
func (m *localMedia) deviceNote(now time.Time) string {
	var notes []string
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

func ptrTo(s string) *string { return &s }

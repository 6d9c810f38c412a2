package ui

import (
	"image"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

// Console is what the UI drives: the waiting room and the call engine as
// main wires them. The UI calls every method from a tea.Cmd, so a method may
// block briefly (Call may send the OFFER), but it must be safe to call from
// any goroutine.
type Console interface {
	// Patients returns a snapshot of the waiting room in arrival order. The
	// UI polls it once a second, which also refreshes "time waiting".
	Patients() []waitingroom.Patient
	// Call starts an outgoing call to the patient at address. Its progress
	// comes as call.Events; an error means the call never started.
	Call(address string) error
	// Hangup ends the current call (the engine sends BYE). It is a no-op
	// when there is no call.
	Hangup()
	// SetMicMuted mutes or unmutes the doctor's microphone.
	SetMicMuted(muted bool)
	// SetCameraOff turns the doctor's camera off or back on.
	SetCameraOff(off bool)
	// Frame returns the latest decoded frame of the patient's video and its
	// sequence number, or (nil, 0) if there is none. The UI reads the image
	// after Frame returns, so the engine must not modify it afterwards: it
	// hands out a new image for each frame.
	Frame() (*image.RGBA, uint64)
	// Snapshot returns frame seq (a sequence number Frame returned) at
	// the size it was decoded at, as a new image, or an error when the
	// engine no longer holds it.
	Snapshot(seq uint64) (image.Image, error)
	// Events returns the channel on which the engine reports every call's
	// events, in order. The UI waits on it with a command that re-arms
	// itself; a closed channel means the engine stopped.
	Events() <-chan call.Event
}

// Info is the status bar's fixed content.
type Info struct {
	// Endpoint is where the console receives signalling, e.g. "127.0.0.1:8080".
	Endpoint string
	// Doctor is the doctor's identity, e.g. their HPR address.
	Doctor string
	// Verify says whether incoming signatures are verified, e.g.
	// "signatures verified" or "signatures NOT verified".
	Verify string
	// Media says where the doctor's media comes from, e.g. "devices" or
	// "synthetic".
	Media string
	// Link, when set, says at each render how the console's link to its
	// hub is ("hub reachable"); nil when the console has its own endpoint.
	// It must be quick and never block.
	Link func() string
	// Record is a warning about the record shown in the title line, e.g.
	// "NOT RECORDING" with --record off; empty when consultations are kept.
	Record string
	// Kept says where the record is kept when that is not the usual
	// place, e.g. the demo's own directory: said in the message line
	// until the first key, and in the title line where there is room.
	Kept string
	// Audio says what processing runs on the doctor's microphone, e.g.
	// "aec+ns+agc" or "off"; empty when there is no microphone.
	Audio string
}

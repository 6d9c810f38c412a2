package ui

import (
	"image"
	"image/color"
	"sync"
	"time"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

// fakeConsole is a Console whose methods are the function fields; a nil
// field does nothing.
type fakeConsole struct {
	PatientsFn     func() []waitingroom.Patient
	CallFn         func(address string) error
	HangupFn       func()
	SetMicMutedFn  func(bool)
	SetCameraOffFn func(bool)
	FrameFn        func() (*image.RGBA, uint64)
	SnapshotFn     func(seq uint64) (image.Image, error)
	EventsFn       func() <-chan call.Event
}

func (f *fakeConsole) Patients() []waitingroom.Patient {
	if f.PatientsFn == nil {
		return nil
	}
	return f.PatientsFn()
}

func (f *fakeConsole) Call(address string) error {
	if f.CallFn == nil {
		return nil
	}
	return f.CallFn(address)
}

func (f *fakeConsole) Hangup() {
	if f.HangupFn != nil {
		f.HangupFn()
	}
}

func (f *fakeConsole) SetMicMuted(m bool) {
	if f.SetMicMutedFn != nil {
		f.SetMicMutedFn(m)
	}
}

func (f *fakeConsole) SetCameraOff(o bool) {
	if f.SetCameraOffFn != nil {
		f.SetCameraOffFn(o)
	}
}

func (f *fakeConsole) Frame() (*image.RGBA, uint64) {
	if f.FrameFn == nil {
		return nil, 0
	}
	return f.FrameFn()
}

func (f *fakeConsole) Snapshot(seq uint64) (image.Image, error) {
	if f.SnapshotFn == nil {
		return nil, call.ErrNoFrame
	}
	return f.SnapshotFn(seq)
}

func (f *fakeConsole) Events() <-chan call.Event {
	if f.EventsFn == nil {
		return nil
	}
	return f.EventsFn()
}

// recorder records the calls made on a fakeConsole; safe for concurrent use.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// testNow is the fixed time of every view test.
var testNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// threePatients is the waiting room of the view tests at testNow.
func threePatients() []waitingroom.Patient {
	return []waitingroom.Patient{
		{Address: "asha.rao@sbx", Name: "Asha Rao", TransactionID: "c0a8e1f2-7d41", State: waitingroom.StateWaiting,
			FirstHeard: testNow.Add(-3*time.Minute - 12*time.Second), LastHeard: testNow.Add(-3 * time.Minute), Seq: 1},
		{Address: "vikram.singh@sbx", Name: "Vikram Singh", TransactionID: "5be0-11ab", State: waitingroom.StateNoAnswer,
			FirstHeard: testNow.Add(-75 * time.Second), LastHeard: testNow.Add(-70 * time.Second), Seq: 2, Note: "no answer"},
		{Address: "meera.iyer.1987@sbx", Name: "Meera Iyer", TransactionID: "9f1d", State: waitingroom.StateWaiting,
			FirstHeard: testNow.Add(-9 * time.Second), LastHeard: testNow.Add(-4 * time.Second), Seq: 3},
	}
}

// newFake returns a fake console with the three patients, recording calls
// into rec, and with events on ch.
func newFake(rec *recorder, ch chan call.Event) *fakeConsole {
	return &fakeConsole{
		PatientsFn: threePatients,
		CallFn: func(a string) error {
			rec.add("call " + a)
			return nil
		},
		HangupFn:       func() { rec.add("hangup") },
		SetMicMutedFn:  func(b bool) { rec.add(map[bool]string{true: "mute", false: "unmute"}[b]) },
		SetCameraOffFn: func(b bool) { rec.add(map[bool]string{true: "camera off", false: "camera on"}[b]) },
		EventsFn:       func() <-chan call.Event { return ch },
	}
}

// testFrame is a synthetic picture of w by h pixels: a smooth gradient that
// drifts sideways with phase and a bright square that crosses the picture
// every 90 phases (3 s at 30 fps), like the engine's synthetic camera.
func testFrame(w, h, phase int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	sq := h / 4
	sx := (phase * w / 90) % (w - sq)
	sy := h/2 - sq/2
	for y := range h {
		for x := range w {
			c := color.RGBA{R: uint8(40 + 120*((x+2*phase)%w)/w), G: uint8(60 + 100*y/h), B: 140, A: 255}
			if x >= sx && x < sx+sq && y >= sy && y < sy+sq {
				c = color.RGBA{R: 250, G: 220, B: 90, A: 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// connectedStats is a stats sample of a good call.
func connectedStats(i int) call.Stats {
	return call.Stats{
		At:            testNow,
		Duration:      time.Duration(i) * time.Second,
		RTT:           time.Duration(40+i%7*3) * time.Millisecond,
		Jitter:        3 * time.Millisecond,
		LossPercent:   0.4,
		BitrateIn:     900_000 + (i%10)*40_000,
		BitrateOut:    700_000 + (i%5)*30_000,
		TargetBitrate: 1_000_000,
		FPSIn:         30, FPSOut: 30,
		WidthIn: 640, HeightIn: 480,
		WidthOut: 640, HeightOut: 480,
		VideoCodec: "VP8", AudioCodec: "opus",
		PathType:   "host",
		AudioLevel: 0.4,
	}
}

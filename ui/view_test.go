package ui

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

// misfit says how content is not exactly h lines of at most w cells each, or
// returns nil when it is.
func misfit(content string, w, h int) error {
	lines := strings.Split(content, "\n")
	if len(lines) != h {
		return fmt.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			return fmt.Errorf("line %d is %d cells wide, more than %d: %q", i, lw, w, ansi.Strip(l))
		}
	}
	return nil
}

// checkGolden checks that the ANSI-stripped view is exactly w by h, uses
// only ASCII, box drawing and block elements, and is on the alternate
// screen, then compares it with testdata/<test name>.golden through
// golden.RequireEqual, which rewrites the file when go test runs with
// -update.
func checkGolden(t *testing.T, m Model, w, h int) {
	t.Helper()
	v := m.View()
	plain := ansi.Strip(v.Content)
	if err := misfit(plain, w, h); err != nil {
		t.Error(err)
	}
	for i, l := range strings.Split(plain, "\n") {
		for _, r := range l {
			if r >= 0x80 && !(r >= 0x2500 && r <= 0x259f) {
				t.Errorf("line %d has %q, outside ASCII, box drawing and block elements", i, r)
			}
		}
	}
	if !v.AltScreen {
		t.Error("not on the alternate screen")
	}
	golden.RequireEqual(t, plain)
}

var sizes = []struct{ w, h int }{{80, 24}, {120, 40}}

func sizeName(name string, w, h int) string {
	return name + "_" + itoa(w) + "x" + itoa(h)
}

func itoa(i int) string { return strconv.Itoa(i) }

// connected returns a model on the call screen, connected for 3m12s, with
// 60 stats samples, and a note.
func connected(t testing.TB, w, h int, videoOn bool) Model {
	t.Helper()
	now := testNow
	opts := []Option{WithClock(func() time.Time { return now })}
	if !videoOn {
		opts = append(opts, WithVideoHidden())
	}
	m := inCall(t, &recorder{}, w, h, opts...)
	for i := range 60 {
		s := connectedStats(i)
		if i == 59 {
			s.Note = "bandwidth low: sending 480p"
		}
		m, _ = update(t, m, eventMsg{call.StatsEvent{Peer: "asha.rao@sbx", Stats: s}})
	}
	now = now.Add(3*time.Minute + 12*time.Second)
	m.call.SetTime(now)
	if videoOn {
		m, _ = update(t, m, frameMsg{call: m.call.id, gen: m.call.gen, img: testFrame(320, 240, 20), seq: 7})
	}
	return m
}

func TestViews(t *testing.T) {
	for _, sz := range sizes {
		w, h := sz.w, sz.h
		t.Run(sizeName("waiting3", w, h), func(t *testing.T) {
			checkGolden(t, loaded(t, newFake(&recorder{}, nil), w, h), w, h)
		})
		t.Run(sizeName("waiting_empty", w, h), func(t *testing.T) {
			f := newFake(&recorder{}, nil)
			f.PatientsFn = func() []waitingroom.Patient { return nil }
			checkGolden(t, loaded(t, f, w, h), w, h)
		})
		t.Run(sizeName("waiting_microphone", w, h), func(t *testing.T) {
			// A real microphone: the status bar says what processing runs on it.
			f := newFake(&recorder{}, nil)
			m := New(f, Info{Endpoint: "127.0.0.1:8080", Doctor: "dr.kavya@hpr", Verify: "signatures verified",
				Media: "synthetic video (no camera found), microphone", Audio: "aec+ns+agc"},
				WithClock(func() time.Time { return testNow }))
			m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
			m, _ = update(t, m, patientsMsg{patients: f.Patients(), at: testNow})
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("call_connected_novideo", w, h), func(t *testing.T) {
			checkGolden(t, connected(t, w, h, false), w, h)
		})
		t.Run(sizeName("call_relayed", w, h), func(t *testing.T) {
			// The engine reports the pair it selected: from the console's
			// host candidate to the patient's TURN relay.
			m := connected(t, w, h, false)
			m, _ = update(t, m, eventMsg{call.PathEvent{Peer: "asha.rao@sbx", Path: call.Path{
				LocalType: "host", RemoteType: "relay", Local: "10.0.0.5:50000", Remote: "203.0.113.9:61234", Protocol: "udp"}}})
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("call_connected_video", w, h), func(t *testing.T) {
			checkGolden(t, connected(t, w, h, true), w, h)
		})
		t.Run(sizeName("call_ended", w, h), func(t *testing.T) {
			m := connected(t, w, h, true)
			m, _ = update(t, m, eventMsg{call.StateEvent{Peer: "asha.rao@sbx", State: call.StateEnded, Reason: call.EndRemoteBye}})
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("call_queue2", w, h), func(t *testing.T) {
			m := connected(t, w, h, true)
			m, _ = update(t, m, patientsMsg{patients: queuePatients(), at: m.call.asOf})
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("call_ended_queue2", w, h), func(t *testing.T) {
			m := connected(t, w, h, true)
			m, _ = update(t, m, patientsMsg{patients: queuePatients(), at: m.call.asOf})
			m.clock = func() time.Time { return m.call.asOf }
			m, _ = endCall(t, m, call.EndRemoteBye, nil)
			ps := queuePatients()
			ps[0].State = waitingroom.StateDone
			m, _ = update(t, m, patientsMsg{patients: ps, at: m.call.asOf.Add(2 * time.Second)})
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("waiting_lastcall", w, h), func(t *testing.T) {
			m := connected(t, w, h, true)
			m.clock = func() time.Time { return m.call.asOf }
			m, _ = endCall(t, m, call.EndRemoteBye, nil)
			m, _ = update(t, m, returnMsg{call: m.call.id})
			m, _ = update(t, m, settledMsg{call: m.call.id})
			ps := queuePatients()
			ps[0].State = waitingroom.StateDone
			m, _ = update(t, m, patientsMsg{patients: ps, at: m.call.asOf.Add(5 * time.Second)})
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("help", w, h), func(t *testing.T) {
			m := loaded(t, newFake(&recorder{}, nil), w, h)
			m, _ = update(t, m, press("?"))
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("help_call", w, h), func(t *testing.T) {
			m := connected(t, w, h, false)
			m, _ = update(t, m, press("?"))
			checkGolden(t, m, w, h)
		})
	}
}

// TestCallScreenFitsEverySize: the call screen is not cut to size again by
// Model.View, so at every terminal size the console draws in (20x7 and up),
// with the video or without, it must be exactly as many lines as the
// terminal and no line wider.
func TestCallScreenFitsEverySize(t *testing.T) {
	for _, ended := range []bool{false, true} {
		for _, videoOn := range []bool{true, false} {
			m := connected(t, 80, 24, videoOn)
			m, _ = update(t, m, patientsMsg{patients: queuePatients(), at: m.call.asOf})
			if ended {
				m, _ = endCall(t, m, call.EndConnectionLost, nil)
			}
			for w := 20; w <= 130; w += 3 {
				for h := chromeLines + 3; h <= 45; h++ {
					m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
					if err := misfit(m.View().Content, w, h); err != nil {
						t.Fatalf("%dx%d, video %v, ended %v: %v", w, h, videoOn, ended, err)
					}
				}
			}
		}
	}
}

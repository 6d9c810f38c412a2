package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

// queuePatients is the waiting room during the call with Asha Rao at at:
// Vikram Singh and Meera Iyer wait, Vikram first.
func queuePatients() []waitingroom.Patient {
	ps := threePatients()
	ps[0].State = waitingroom.StateInCall
	ps[1].State, ps[1].Note = waitingroom.StateWaiting, ""
	return ps
}

// endCall ends the call on screen with reason and returns the model and the
// commands of the end.
func endCall(t testing.TB, m Model, reason call.EndReason, err error) (Model, tea.Cmd) {
	t.Helper()
	return update(t, m, eventMsg{call.StateEvent{Peer: m.call.patient.Address, State: call.StateEnded, Reason: reason, Err: err}})
}

// returnTicks runs cmd and returns the returnMsgs it produced.
func returnTicks(t *testing.T, cmd tea.Cmd) []returnMsg {
	t.Helper()
	var out []returnMsg
	for _, msg := range run(t, cmd) {
		if r, ok := msg.(returnMsg); ok {
			out = append(out, r)
		}
	}
	return out
}

func view(m Model) string { return ansi.Strip(m.View().Content) }

func TestQueueLine(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	// The snapshot at the start lists Asha Rao, who is being called, as
	// waiting: she is not next.
	if v := view(m); !strings.Contains(v, "Queue 1 waiting | next Meera Iyer, waiting 9s") {
		t.Fatalf("queue line at the start of the call:\n%s", v)
	}
	at := testNow.Add(30 * time.Second)
	m, _ = update(t, m, patientsMsg{patients: queuePatients(), at: at})
	if v := view(m); !strings.Contains(v, "Queue 2 waiting | next Vikram Singh, waiting 1m45s") {
		t.Fatalf("queue line with two waiting:\n%s", v)
	}
	var none []waitingroom.Patient
	for _, p := range queuePatients() {
		if p.State != waitingroom.StateWaiting {
			none = append(none, p)
		}
	}
	m, _ = update(t, m, patientsMsg{patients: none, at: at})
	if v := view(m); !strings.Contains(v, "Queue no one waiting") {
		t.Fatalf("queue line with no one waiting:\n%s", v)
	}
}

// TestQueueLineAfterRejoin: once the call has ended, its patient waiting
// again (they rejoined) is in the queue like anyone.
func TestQueueLineAfterRejoin(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	m, _ = endCall(t, m, call.EndRemoteBye, nil)
	m, _ = update(t, m, patientsMsg{patients: threePatients(), at: testNow})
	if v := view(m); !strings.Contains(v, "Queue 2 waiting | next Asha Rao, waiting 3m12s") {
		t.Fatalf("queue line after the call:\n%s", v)
	}
}

func TestAutoReturn(t *testing.T) {
	rec := &recorder{}
	m := inCall(t, rec, 80, 24, WithReturnDelay(10*time.Millisecond))
	now := testNow.Add(3*time.Minute + 12*time.Second)
	m.clock = func() time.Time { return now }
	m, _ = update(t, m, patientsMsg{patients: queuePatients(), at: now})
	m, cmd := endCall(t, m, call.EndConnectionLost, errors.New("ice failed"))
	if v := view(m); !strings.Contains(v, "Ended: connection lost") || !strings.Contains(v, "waiting room in 1s") {
		t.Fatalf("ended screen:\n%s", v)
	}
	ticks := returnTicks(t, cmd)
	if len(ticks) != 1 || ticks[0].call != m.call.id {
		t.Fatalf("the end of call %d asked for returns %v", m.call.id, ticks)
	}
	m, cmd = update(t, m, ticks[0])
	if m.screen != screenWaiting {
		t.Fatal("the waiting room did not come back by itself")
	}
	v := view(m)
	// The patient the queue line named as next is selected.
	for _, want := range []string{"Waiting room (3)", "Last call: Asha Rao, 3:12, connection lost", "connection lost: ice failed", "> Vikram Singh"} {
		if !strings.Contains(v, want) {
			t.Errorf("waiting room after the return lacks %q:\n%s", want, v)
		}
	}
	// An Enter meant for the ended screen, just after it went, calls no one.
	if m.keys.Call.Enabled() {
		t.Error("call key enabled just after the waiting room came back by itself")
	}
	if m, c := update(t, m, press("enter")); m.screen != screenWaiting || c != nil {
		t.Fatal("enter just after the return started a call")
	}
	if cmd == nil {
		t.Fatal("the return does not end its guard")
	}
	// The guard's end, which cmd delivers after returnGrace.
	m, _ = update(t, m, settledMsg{call: m.call.id})
	// The last call's line stays until the next call starts.
	m, _ = update(t, m, patientsMsg{patients: threePatients(), at: now.Add(time.Minute)})
	if !strings.Contains(view(m), "Last call: Asha Rao, 3:12, connection lost") {
		t.Fatalf("last call line gone before the next call:\n%s", view(m))
	}
	m, _ = update(t, m, press("enter"))
	if m.screen != screenCall || m.call.id != 2 || m.call.patient.Name != "Vikram Singh" {
		t.Fatalf("enter after the guard did not call the next patient: screen %v call %d to %q", m.screen, m.call.id, m.call.patient.Name)
	}
	m, _ = endCall(t, m, call.EndHangup, nil)
	m, _ = update(t, m, press("enter"))
	if v := view(m); strings.Contains(v, "connection lost") || !strings.Contains(v, "Last call: Vikram Singh, 0:00, ended by doctor") {
		t.Fatalf("the last call line is not of the second call:\n%s", v)
	}
}

// TestStaleReturnIgnored: the return tick of an earlier call, left from a
// doctor who went back at once, never moves a later call's screen.
func TestStaleReturnIgnored(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	m, cmd := endCall(t, m, call.EndRemoteBye, nil)
	if cmd == nil {
		t.Fatal("no commands at the end of the call")
	}
	first := m.call.id
	m, _ = update(t, m, press("enter")) // back at once
	if m.screen != screenWaiting || !m.keys.Call.Enabled() {
		t.Fatalf("back: screen %v, call key %v", m.screen, m.keys.Call.Enabled())
	}
	m, _ = update(t, m, press("enter"))
	if m.screen != screenCall || m.call.id == first {
		t.Fatal("the second call did not start")
	}
	m, _ = update(t, m, returnMsg{call: first})
	if m.screen != screenCall || !m.call.Active() {
		t.Fatal("the first call's tick moved the second call's screen")
	}
	m, _ = endCall(t, m, call.EndNoAnswer, nil)
	m, _ = update(t, m, returnMsg{call: first})
	if m.screen != screenCall {
		t.Fatal("the first call's tick ended the second call's ended screen early")
	}
	m, _ = update(t, m, returnMsg{call: m.call.id})
	if m.screen != screenWaiting {
		t.Fatal("the second call's own tick did not bring the waiting room back")
	}
	// A late guard end of the first call does not end the second's.
	m, _ = update(t, m, settledMsg{call: first})
	if !m.settling {
		t.Fatal("the first call's guard end ended the second's guard")
	}
}

func TestReturnDelayOff(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24, WithReturnDelay(0))
	m, cmd := endCall(t, m, call.EndRemoteBye, nil)
	if ticks := returnTicks(t, cmd); len(ticks) != 0 {
		t.Fatalf("return delay 0 still returns: %v", ticks)
	}
	if v := view(m); strings.Contains(v, "waiting room in") || !strings.Contains(v, "back to waiting room") || strings.Contains(v, "back to waiting room now") {
		t.Fatalf("ended screen without the return:\n%s", v)
	}
	m, _ = update(t, m, press("enter"))
	if m.screen != screenWaiting || !strings.Contains(view(m), "Last call: Asha Rao, 0:00, patient hung up") {
		t.Fatalf("back without the return:\n%s", view(m))
	}
}

func TestBackHelpSaysNow(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	m, _ = endCall(t, m, call.EndRemoteBye, nil)
	if h := m.keys.Back.Help().Desc; h != "back to waiting room now" {
		t.Fatalf("back help %q", h)
	}
	m, _ = update(t, m, press("?"))
	if v := view(m); !strings.Contains(v, "comes back by itself in 5s") {
		t.Fatalf("help does not say the waiting room comes back by itself:\n%s", v)
	}
}

// TestLongNamesFit: a long name and a long end reason are cut to fit on the
// queue line, the ended screen and the last call's line, at every size.
func TestLongNamesFit(t *testing.T) {
	long := strings.Repeat("Venkata Lakshmi Narasimha ", 3)
	ps := threePatients()
	for i := range ps {
		ps[i].Name = long + ps[i].Name
		ps[i].State = waitingroom.StateWaiting
	}
	f := newFake(&recorder{}, nil)
	f.PatientsFn = func() []waitingroom.Patient { return ps }
	m := loaded(t, f, 80, 24)
	m, _ = update(t, m, press("enter"))
	m, _ = endCall(t, m, call.EndReason(99), nil)
	for _, sc := range []screen{screenCall, screenWaiting} {
		for w := 20; w <= 130; w += 3 {
			for h := chromeLines + 3; h <= 45; h += 2 {
				m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
				if err := misfit(m.View().Content, w, h); err != nil {
					t.Fatalf("screen %v at %dx%d: %v", sc, w, h, err)
				}
			}
		}
		m, _ = update(t, m, returnMsg{call: m.call.id})
	}
	if !strings.Contains(view(m), "Last call: Venkata") {
		t.Fatalf("no last call line:\n%s", view(m))
	}
}

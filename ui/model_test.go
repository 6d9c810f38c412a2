package ui

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// update feeds msg to m and returns the new model and command.
func update(t testing.TB, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	nm, cmd := m.Update(msg)
	return nm.(Model), cmd
}

// run executes cmd and the commands of any batch it returns, each with a
// deadline, and returns the messages they produced. Commands that do not
// return in time (a tick longer than the deadline, a wait on events) are
// abandoned.
func run(t *testing.T, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	if cmd == nil {
		return nil
	}
	ch := make(chan tea.Msg, 1)
	go func() { ch <- cmd() }()
	select {
	case msg := <-ch:
		if b, ok := msg.(tea.BatchMsg); ok {
			var out []tea.Msg
			for _, c := range b {
				out = append(out, run(t, c)...)
			}
			return out
		}
		if msg == nil {
			return nil
		}
		return []tea.Msg{msg}
	case <-time.After(300 * time.Millisecond):
		return nil
	}
}

// loaded returns a model of the fake at size w x h with the waiting room
// already read.
func loaded(t testing.TB, f *fakeConsole, w, h int, opts ...Option) Model {
	t.Helper()
	m := New(f, Info{Endpoint: "127.0.0.1:8080", Doctor: "dr.kavya@hpr", Verify: "signatures verified", Media: "synthetic"},
		append([]Option{WithClock(func() time.Time { return testNow })}, opts...)...)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m, _ = update(t, m, patientsMsg{patients: f.Patients(), at: testNow})
	return m
}

func TestSelection(t *testing.T) {
	rec := &recorder{}
	m := loaded(t, newFake(rec, nil), 80, 24)
	sel := func() string { p, _ := m.waiting.Selected(); return p.Address }
	if sel() != "asha.rao@sbx" {
		t.Fatalf("initial selection %q", sel())
	}
	for _, step := range []struct{ key, want string }{
		{"down", "vikram.singh@sbx"}, {"j", "meera.iyer.1987@sbx"}, {"j", "meera.iyer.1987@sbx"},
		{"up", "vikram.singh@sbx"}, {"k", "asha.rao@sbx"}, {"k", "asha.rao@sbx"},
	} {
		m, _ = update(t, m, press(step.key))
		if sel() != step.want {
			t.Fatalf("after %s: selected %q, want %q", step.key, sel(), step.want)
		}
	}
	// The selection follows the patient when the list changes.
	m, _ = update(t, m, press("j"))
	ps := threePatients()
	ps = append([]waitingroom.Patient{{Address: "new@sbx", Name: "New", State: waitingroom.StateWaiting}}, ps...)
	m, _ = update(t, m, patientsMsg{patients: ps, at: testNow})
	if sel() != "vikram.singh@sbx" || m.waiting.selected != 2 {
		t.Fatalf("selection did not follow: %q at %d", sel(), m.waiting.selected)
	}
}

func TestEnterCallsSelected(t *testing.T) {
	rec := &recorder{}
	m := loaded(t, newFake(rec, nil), 80, 24)
	m, _ = update(t, m, press("j"))
	m, _ = update(t, m, press("j"))
	m, cmd := update(t, m, press("enter"))
	if m.screen != screenCall || m.call.patient.Address != "meera.iyer.1987@sbx" {
		t.Fatalf("screen %v patient %q", m.screen, m.call.patient.Address)
	}
	run(t, cmd)
	if got := rec.list(); len(got) != 1 || got[0] != "call meera.iyer.1987@sbx" {
		t.Fatalf("console calls %v", got)
	}
	if !strings.Contains(ansi.Strip(m.View().Content), "Starting") {
		t.Error("call screen does not say the call is starting")
	}
}

func TestEnterOnUncallablePatient(t *testing.T) {
	rec := &recorder{}
	f := newFake(rec, nil)
	f.PatientsFn = func() []waitingroom.Patient {
		ps := threePatients()
		ps[0].State = waitingroom.StateLeft
		return ps
	}
	m := loaded(t, f, 80, 24)
	if m.keys.Call.Enabled() {
		t.Error("call key enabled on a patient who left")
	}
	m, cmd := update(t, m, press("enter"))
	if m.screen != screenWaiting || cmd != nil || len(rec.list()) != 0 {
		t.Fatalf("called a patient who left: screen %v calls %v", m.screen, rec.list())
	}
}

func TestCallFailsToStart(t *testing.T) {
	rec := &recorder{}
	f := newFake(rec, nil)
	f.CallFn = func(string) error { return errors.New("offer refused: 503") }
	m := loaded(t, f, 80, 24)
	m, cmd := update(t, m, press("enter"))
	for _, msg := range run(t, cmd) {
		m, _ = update(t, m, msg)
	}
	if m.call.Active() || m.err == nil {
		t.Fatalf("failed call: active %v err %v", m.call.Active(), m.err)
	}
	v := ansi.Strip(m.View().Content)
	for _, want := range []string{"Ended: call failed", "call failed: offer refused: 503"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q:\n%s", want, v)
		}
	}
}

// inCall returns a model on the call screen with the first patient,
// connected.
func inCall(t testing.TB, rec *recorder, w, h int, opts ...Option) Model {
	t.Helper()
	m := loaded(t, newFake(rec, nil), w, h, opts...)
	m, _ = update(t, m, press("enter"))
	for _, s := range []call.State{call.StateCalling, call.StateConnecting, call.StateConnected} {
		m, _ = update(t, m, eventMsg{call.StateEvent{Peer: "asha.rao@sbx", State: s}})
	}
	return m
}

func TestCallStates(t *testing.T) {
	rec := &recorder{}
	m := loaded(t, newFake(rec, nil), 80, 24)
	m, _ = update(t, m, press("enter"))
	ev := func(s call.State, r call.EndReason) {
		t.Helper()
		var cmd tea.Cmd
		m, cmd = update(t, m, eventMsg{call.StateEvent{Peer: "asha.rao@sbx", State: s, Reason: r}})
		if cmd == nil {
			t.Fatal("event wait not re-armed")
		}
	}
	for _, step := range []struct {
		state  call.State
		reason call.EndReason
		want   string
	}{
		{call.StateCalling, 0, "Calling"},
		{call.StateConnecting, 0, "Connecting"},
		{call.StateConnected, 0, "Connected"},
		{call.StateReconnecting, 0, "Reconnecting"},
		{call.StateConnected, 0, "Connected"},
		{call.StateEnded, call.EndNoAnswer, "Ended: no answer"},
	} {
		ev(step.state, step.reason)
		if v := ansi.Strip(m.View().Content); !strings.Contains(v, step.want) {
			t.Fatalf("after %s the view lacks %q:\n%s", step.state, step.want, v)
		}
	}
	// An event of another call is ignored.
	m, _ = update(t, m, eventMsg{call.StateEvent{Peer: "other@sbx", State: call.StateConnected}})
	if m.call.state != call.StateEnded {
		t.Fatal("event of another peer changed the call")
	}
	if !m.keys.Back.Enabled() || m.keys.End.Enabled() {
		t.Fatal("ended call: back should be enabled and end disabled")
	}
	m, _ = update(t, m, press("esc"))
	if m.screen != screenWaiting {
		t.Fatal("esc did not return to the waiting room")
	}
}

func TestCallKeys(t *testing.T) {
	rec := &recorder{}
	m := inCall(t, rec, 80, 24)
	for _, k := range []string{"m", "c", "m", "c", "e"} {
		var cmd tea.Cmd
		m, cmd = update(t, m, press(k))
		run(t, cmd)
	}
	want := "call asha.rao@sbx,mute,camera off,unmute,camera on,hangup"
	// The call command is not run by inCall; only the keys' commands are.
	if got := strings.Join(append([]string{"call asha.rao@sbx"}, rec.list()...), ","); got != want {
		t.Fatalf("console calls %s, want %s", got, want)
	}
	if !m.call.videoOn {
		t.Fatal("video should be on by default")
	}
	m, cmd := update(t, m, press("v"))
	if m.call.videoOn || cmd != nil {
		t.Fatal("v did not hide the video")
	}
	m, cmd = update(t, m, press("v"))
	if !m.call.videoOn || cmd == nil {
		t.Fatal("v did not show the video and restart sampling")
	}
	// Keys of the waiting room do nothing on the call screen.
	if m.keys.Up.Enabled() || m.keys.Call.Enabled() {
		t.Fatal("waiting room keys enabled during a call")
	}
}

func TestMuteIndicators(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	m, _ = update(t, m, press("m"))
	m, _ = update(t, m, press("c"))
	v := ansi.Strip(m.View().Content)
	for _, want := range []string{"[MIC MUTED]", "[CAMERA OFF]", "unmute mic", "camera on"} {
		if !strings.Contains(v, want) {
			t.Errorf("view lacks %q", want)
		}
	}
}

func TestQuitConfirmInCall(t *testing.T) {
	rec := &recorder{}
	m := inCall(t, rec, 80, 24)
	m, cmd := update(t, m, press("q"))
	if !m.confirming || cmd != nil {
		t.Fatal("q during a call did not ask")
	}
	if !strings.Contains(ansi.Strip(m.View().Content), "Hang up and quit? y/n") {
		t.Fatal("no confirmation prompt")
	}
	// Other keys do nothing while asking.
	m, cmd = update(t, m, press("e"))
	if cmd != nil || !m.confirming {
		t.Fatal("e acted during the confirmation")
	}
	m, _ = update(t, m, press("n"))
	if m.confirming {
		t.Fatal("n did not cancel")
	}
	m, _ = update(t, m, press("q"))
	m, cmd = update(t, m, press("y"))
	msgs := run(t, cmd)
	if len(msgs) != 1 {
		t.Fatalf("y produced %v", msgs)
	}
	if _, ok := msgs[0].(tea.QuitMsg); !ok {
		t.Fatalf("y produced %T, want QuitMsg", msgs[0])
	}
	if got := rec.list(); fmt.Sprint(got) != "[hangup]" {
		t.Fatalf("console calls %v, want hangup before quit", got)
	}
}

func TestQuitOutsideCall(t *testing.T) {
	m := loaded(t, newFake(&recorder{}, nil), 80, 24)
	_, cmd := update(t, m, press("q"))
	if msgs := run(t, cmd); len(msgs) != 1 {
		t.Fatalf("q produced %v", msgs)
	} else if _, ok := msgs[0].(tea.QuitMsg); !ok {
		t.Fatalf("q produced %T", msgs[0])
	}
}

func TestCtrlCInCallHangsUpAtOnce(t *testing.T) {
	rec := &recorder{}
	m := inCall(t, rec, 80, 24)
	_, cmd := update(t, m, press("ctrl+c"))
	msgs := run(t, cmd)
	if len(msgs) != 1 || fmt.Sprint(rec.list()) != "[hangup]" {
		t.Fatalf("ctrl+c: msgs %v calls %v", msgs, rec.list())
	}
	if _, ok := msgs[0].(tea.QuitMsg); !ok {
		t.Fatalf("ctrl+c produced %T", msgs[0])
	}
}

func TestHelpToggle(t *testing.T) {
	m := loaded(t, newFake(&recorder{}, nil), 80, 24)
	m, _ = update(t, m, press("?"))
	if !m.helpOpen {
		t.Fatal("? did not open help")
	}
	v := ansi.Strip(m.View().Content)
	if !strings.Contains(v, "call patient") || strings.Contains(v, "end call") {
		t.Fatalf("help on the waiting room should list call and not end:\n%s", v)
	}
	m, _ = update(t, m, press("?"))
	if m.helpOpen {
		t.Fatal("? did not close help")
	}
	m, _ = update(t, m, press("?"))
	m, _ = update(t, m, press("esc"))
	if m.helpOpen {
		t.Fatal("esc did not close help")
	}
	// In a call, help lists the call keys.
	m = inCall(t, &recorder{}, 80, 24)
	m, _ = update(t, m, press("?"))
	v = ansi.Strip(m.View().Content)
	if !strings.Contains(v, "end call") || strings.Contains(v, "call patient") {
		t.Fatalf("help in a call:\n%s", v)
	}
}

func TestStatsHistory(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	for i := range historyLen + 10 {
		m, _ = update(t, m, eventMsg{call.StatsEvent{Peer: "asha.rao@sbx", Stats: connectedStats(i)}})
	}
	if len(m.call.inHist) != historyLen || len(m.call.rttHist) != historyLen {
		t.Fatalf("history %d/%d, want %d", len(m.call.inHist), len(m.call.rttHist), historyLen)
	}
	v := ansi.Strip(m.View().Content)
	for _, want := range []string{"RTT", "loss", "jitter", "target", "640x480", "VP8+opus", "host"} {
		if !strings.Contains(v, want) {
			t.Errorf("stats panel lacks %q", want)
		}
	}
}

func TestEndedWithErrorShowsError(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	m, _ = update(t, m, eventMsg{call.StateEvent{Peer: "asha.rao@sbx", State: call.StateEnded,
		Reason: call.EndConnectionLost, Err: errors.New("ice failed")}})
	v := ansi.Strip(m.View().Content)
	if !strings.Contains(v, "Ended: connection lost") || !strings.Contains(v, "connection lost: ice failed") {
		t.Fatalf("view:\n%s", v)
	}
	// The error stays after returning to the waiting room.
	m, _ = update(t, m, press("enter"))
	if m.screen != screenWaiting || !strings.Contains(ansi.Strip(m.View().Content), "ice failed") {
		t.Fatal("error lost on the way back")
	}
}

func TestEventsClosed(t *testing.T) {
	m := loaded(t, newFake(&recorder{}, nil), 80, 24)
	m, cmd := update(t, m, eventsClosedMsg{})
	if cmd != nil || m.Err() == nil {
		t.Fatal("closed events: want an error and no re-arm")
	}
}

func TestVideoSampling(t *testing.T) {
	m := inCall(t, &recorder{}, 80, 24)
	id, gen := m.call.id, m.call.gen
	m, cmd := update(t, m, frameMsg{call: id, gen: gen, img: testFrame(320, 240, 0), seq: 1})
	if cmd == nil || m.call.video == "" || m.call.frameSeq != 1 {
		t.Fatal("frame not drawn or sampling not re-armed")
	}
	// A message from a stopped loop is dropped and not re-armed.
	_, cmd = update(t, m, frameMsg{call: id, gen: gen - 1, img: testFrame(320, 240, 5), seq: 2})
	if cmd != nil {
		t.Fatal("stale video loop re-armed")
	}
	// A sample of an earlier call is dropped too.
	_, cmd = update(t, m, frameMsg{call: id - 1, gen: gen, img: testFrame(320, 240, 5), seq: 2})
	if cmd != nil {
		t.Fatal("earlier call's video loop re-armed")
	}
	// The end of the call stops the sampling.
	m, _ = update(t, m, eventMsg{call.StateEvent{Peer: "asha.rao@sbx", State: call.StateEnded, Reason: call.EndHangup}})
	if _, cmd = update(t, m, frameMsg{call: id, gen: m.call.gen, seq: 1}); cmd != nil {
		t.Fatal("video sampled after the call ended")
	}
	if m.call.videoCols > m.call.videoAreaW || m.call.videoRows > m.call.videoAreaH {
		t.Fatalf("video %dx%d outside area %dx%d", m.call.videoCols, m.call.videoRows, m.call.videoAreaW, m.call.videoAreaH)
	}
}

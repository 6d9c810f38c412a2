package ui

import (
	"bytes"
	"image"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"teleconsole/call"
)

// viewSnapshot keeps the plain text of the running model's latest view. The
// cell renderer writes only the cells that changed, so the terminal stream
// does not hold whole words to wait for; a filter reads the model instead.
type viewSnapshot struct {
	mu   sync.Mutex
	text string
}

func (s *viewSnapshot) filter(m tea.Model, msg tea.Msg) tea.Msg {
	if mm, ok := m.(Model); ok {
		v := ansi.Strip(mm.View().Content)
		s.mu.Lock()
		s.text = v
		s.mu.Unlock()
	}
	return msg
}

func (s *viewSnapshot) get() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.text
}

// waitView waits until the view contains want.
func waitView(t *testing.T, s *viewSnapshot, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.get(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("view never showed %q; last view:\n%s", want, s.get())
}

func startFlow(t *testing.T, f *fakeConsole, opts ...Option) (*teatest.TestModel, *viewSnapshot) {
	t.Helper()
	snap := &viewSnapshot{}
	m := New(f, Info{Endpoint: "127.0.0.1:8080", Doctor: "dr.kavya@hpr", Verify: "signatures verified", Media: "synthetic"},
		append([]Option{WithClock(func() time.Time { return testNow }), WithPollInterval(100 * time.Millisecond)}, opts...)...)
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithFilter(snap.filter), tea.WithColorProfile(colorprofile.ANSI256)))
	return tm, snap
}

func TestFlowCallAndEnd(t *testing.T) {
	rec := &recorder{}
	events := make(chan call.Event, 16)
	f := newFake(rec, events)
	f.CallFn = func(a string) error {
		rec.add("call " + a)
		events <- call.StateEvent{Peer: a, State: call.StateCalling}
		return nil
	}
	f.HangupFn = func() {
		rec.add("hangup")
		events <- call.StateEvent{Peer: "asha.rao@sbx", State: call.StateEnded, Reason: call.EndHangup}
	}
	f.FrameFn = func() (*image.RGBA, uint64) { return testFrame(160, 120, 3), 1 }
	tm, snap := startFlow(t, f)

	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("Asha Rao")) },
		teatest.WithDuration(3*time.Second))
	tm.Send(press("enter"))
	waitView(t, snap, "Calling")
	events <- call.StateEvent{Peer: "asha.rao@sbx", State: call.StateConnecting}
	waitView(t, snap, "Connecting")
	events <- call.StateEvent{Peer: "asha.rao@sbx", State: call.StateConnected}
	events <- call.StatsEvent{Peer: "asha.rao@sbx", Stats: connectedStats(1)}
	waitView(t, snap, "Connected")
	waitView(t, snap, "VP8+opus")
	tm.Send(press("e"))
	waitView(t, snap, "Ended: ended by doctor")
	tm.Send(press("enter"))
	waitView(t, snap, "Waiting room (3)")
	tm.Send(press("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
	if got := strings.Join(rec.list(), ","); got != "call asha.rao@sbx,hangup" {
		t.Fatalf("console calls %s", got)
	}
}

func TestFlowQuitDuringCall(t *testing.T) {
	rec := &recorder{}
	events := make(chan call.Event, 16)
	f := newFake(rec, events)
	tm, snap := startFlow(t, f)
	waitView(t, snap, "Asha Rao")
	tm.Send(press("j"))
	tm.Send(press("enter"))
	events <- call.StateEvent{Peer: "vikram.singh@sbx", State: call.StateConnected}
	waitView(t, snap, "Connected")
	tm.Send(press("q"))
	waitView(t, snap, "Hang up and quit? y/n")
	tm.Send(press("y"))
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(3*time.Second)).(Model)
	if got := strings.Join(rec.list(), ","); got != "call vikram.singh@sbx,hangup" {
		t.Fatalf("console calls %s", got)
	}
	if fm.call.patient.Address != "vikram.singh@sbx" {
		t.Fatalf("called %s", fm.call.patient.Address)
	}
}

// TestFlowAutoReturn: after a call ends the waiting room comes back by
// itself, with the last call's line, and the doctor presses nothing.
func TestFlowAutoReturn(t *testing.T) {
	rec := &recorder{}
	events := make(chan call.Event, 16)
	f := newFake(rec, events)
	tm, snap := startFlow(t, f, WithReturnDelay(200*time.Millisecond))
	waitView(t, snap, "Asha Rao")
	tm.Send(press("enter"))
	events <- call.StateEvent{Peer: "asha.rao@sbx", State: call.StateConnected}
	waitView(t, snap, "Queue 1 waiting | next Meera Iyer")
	events <- call.StateEvent{Peer: "asha.rao@sbx", State: call.StateEnded, Reason: call.EndRemoteBye}
	waitView(t, snap, "Ended: patient hung up")
	waitView(t, snap, "Last call: Asha Rao, 0:00, patient hung up")
	if v := snap.get(); !strings.Contains(v, "Waiting room (3)") {
		t.Fatalf("not the waiting room:\n%s", v)
	}
	tm.Send(press("q"))
	tm.WaitFinished(t, teatest.WithFinalTimeout(3*time.Second))
	if got := strings.Join(rec.list(), ","); got != "call asha.rao@sbx" {
		t.Fatalf("console calls %s", got)
	}
}

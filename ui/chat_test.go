package ui

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"teleconsole/record"
)

// fakeChat is a Chatter that records what the model asks of it.
type fakeChat struct {
	events chan record.Message
	mu     sync.Mutex
	sent   []string
	fail   error
}

func newFakeChat() *fakeChat { return &fakeChat{events: make(chan record.Message, 16)} }

func (f *fakeChat) ChatEvents() <-chan record.Message { return f.events }

func (f *fakeChat) SendChat(addr, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, "chat "+addr+" "+text)
	return f.fail
}

func (f *fakeChat) SendFile(addr, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, "file "+addr+" "+path)
	return f.fail
}

func (f *fakeChat) SetNotes(addr, text string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, "notes "+addr+" "+text)
}

func (f *fakeChat) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.sent...)
}

func typeText(t *testing.T, m Model, s string) Model {
	t.Helper()
	for _, r := range s {
		m, _ = update(t, m, press(string(r)))
	}
	return m
}

func chatLines(t *testing.T, m Model) string { return ansi.Strip(m.View().Content) }

// TestChatSendAndClose: t opens the chat line for the patient in the call,
// typed keys go to it (not to the call's bindings), Enter sends, Esc closes.
func TestChatSendAndClose(t *testing.T) {
	fc := newFakeChat()
	rec := &recorder{}
	m := inCall(t, rec, 80, 24, WithChat(fc))
	m, _ = update(t, m, press("t"))
	// "e" ends a call, "m" mutes: while the chat line is open they are text.
	m = typeText(t, m, "come closer to the camera")
	if got := rec.list(); strings.Contains(strings.Join(got, ","), "hangup") || m.call.micMuted {
		t.Fatalf("typing reached the call: %v, muted %v", got, m.call.micMuted)
	}
	m, cmd := update(t, m, press("enter"))
	run(t, cmd)
	if got := fc.log(); len(got) != 1 || got[0] != "chat asha.rao@sbx come closer to the camera" {
		t.Fatalf("sent %v", got)
	}
	if !m.chat.open() || m.chat.input.Value() != "" {
		t.Fatalf("after Enter: open %v, value %q", m.chat.open(), m.chat.input.Value())
	}
	m, _ = update(t, m, press("esc"))
	if m.chat.open() {
		t.Fatal("Esc did not close the chat line")
	}
	// The call's keys work again.
	m, cmd = update(t, m, press("m"))
	run(t, cmd)
	if !m.call.micMuted {
		t.Error("m after the chat closed did not mute")
	}
}

func TestChatSendFailureShown(t *testing.T) {
	fc := newFakeChat()
	fc.fail = errors.New("patient asha.rao@sbx gave no consumer_uri")
	m := inCall(t, &recorder{}, 80, 24, WithChat(fc))
	m, _ = update(t, m, press("a"))
	m = typeText(t, m, "/tmp/rx.pdf")
	m, cmd := update(t, m, press("enter"))
	for _, msg := range run(t, cmd) {
		m, _ = update(t, m, msg)
	}
	if got := fc.log(); len(got) != 1 || got[0] != "file asha.rao@sbx /tmp/rx.pdf" {
		t.Fatalf("sent %v", got)
	}
	if m.err == nil || !strings.Contains(m.err.Error(), "file not sent") || !strings.Contains(chatLines(t, m), "file not sent") {
		t.Errorf("error %v not on screen", m.err)
	}
}

func TestChatNotesKeptAsTyped(t *testing.T) {
	fc := newFakeChat()
	m := inCall(t, &recorder{}, 80, 24, WithChat(fc))
	m, _ = update(t, m, press("n"))
	// Keys come faster than saves: the saves out are finished only after
	// all of them, and the last text saved is the last typed.
	var pending []tea.Cmd
	for _, k := range []string{"r", "a", "s", "h", "enter", "x"} {
		var cmd tea.Cmd
		m, cmd = update(t, m, press(k))
		pending = append(pending, cmd)
	}
	for len(pending) > 0 {
		cmd := pending[0]
		pending = pending[1:]
		for _, msg := range run(t, cmd) {
			var next tea.Cmd
			m, next = update(t, m, msg)
			pending = append(pending, next)
		}
	}
	got := fc.log()
	if len(got) != 2 || got[0] != "notes asha.rao@sbx r" || got[1] != "notes asha.rao@sbx rash\nx" {
		t.Fatalf("notes kept %q", got)
	}
	m, _ = update(t, m, press("esc"))
	if m.chat.open() {
		t.Fatal("Esc did not close the notes")
	}
	m, _ = update(t, m, press("n"))
	if v := m.chat.area.Value(); v != "rash\nx" {
		t.Errorf("notes reopened with %q", v)
	}
}

// TestChatUnreadInWaitingRoom: a message from a waiting patient who is not
// selected shows as an unread mark beside their name, cleared when the
// doctor opens their chat.
func TestChatUnreadInWaitingRoom(t *testing.T) {
	fc := newFakeChat()
	m := loaded(t, newFake(&recorder{}, nil), 80, 24, WithChat(fc))
	in := record.Message{Peer: "vikram.singh@sbx", ID: "m1", At: testNow, Direction: record.In, ContentType: "text",
		Text: "I am in the waiting room", Status: "received"}
	m, _ = update(t, m, chatEventMsg{in})
	if !strings.Contains(chatLines(t, m), "(1) Vikram") {
		t.Fatalf("no unread mark:\n%s", chatLines(t, m))
	}
	for m.chatTarget() != "vikram.singh@sbx" {
		m, _ = update(t, m, press("down"))
	}
	m, _ = update(t, m, press("t"))
	if strings.Contains(chatLines(t, m), "(1) Vikram") || !strings.Contains(chatLines(t, m), "I am in the waiting room") {
		t.Fatalf("after t:\n%s", chatLines(t, m))
	}
}

func chatCall(t *testing.T, w, h int) Model {
	t.Helper()
	fc := newFakeChat()
	m := connected(t, w, h, true)
	m.chat.chatter = fc
	at := testNow.Add(time.Minute)
	for _, msg := range []record.Message{
		{Peer: "asha.rao@sbx", ID: "1", At: at, Direction: record.In, ContentType: "text", Text: "my camera is broken", Encrypted: true, Status: "received"},
		{Peer: "asha.rao@sbx", ID: "2", At: at.Add(20 * time.Second), Direction: record.Out, ContentType: "text", Text: "send a photo of the rash", Encrypted: true, Status: "sending"},
		{Peer: "asha.rao@sbx", ID: "2", Status: "sent"},
		{Peer: "asha.rao@sbx", ID: "3", At: at.Add(time.Minute), Direction: record.In, ContentType: "media", Text: "rash.jpg",
			Path: "/home/dr/.local/share/teleconsole/files/c1/9f2c-rash.jpg", Status: "received: image/jpeg, 48213 bytes"},
		{Peer: "asha.rao@sbx", ID: "4", At: at.Add(70 * time.Second), Direction: record.In, ContentType: "text", Text: `{"cipher_text":[1]}`, Encrypted: true,
			Status: "unreadable: chat message MAC does not verify"},
	} {
		m, _ = update(t, m, chatEventMsg{msg})
	}
	return m
}

func TestChatViews(t *testing.T) {
	for _, sz := range sizes {
		w, h := sz.w, sz.h
		t.Run(sizeName("call_chat", w, h), func(t *testing.T) {
			checkGolden(t, chatCall(t, w, h), w, h)
		})
		t.Run(sizeName("call_chat_typing", w, h), func(t *testing.T) {
			m := chatCall(t, w, h)
			m, _ = update(t, m, press("t"))
			m = typeText(t, m, "take it twice a day")
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("waiting_chat", w, h), func(t *testing.T) {
			m := loaded(t, newFake(&recorder{}, nil), w, h, WithChat(newFakeChat()))
			m, _ = update(t, m, chatEventMsg{record.Message{Peer: "meera.iyer.1987@sbx", ID: "1", At: testNow, Direction: record.In,
				ContentType: "text", Text: "is the doctor in today?", Status: "received"}})
			m, _ = update(t, m, chatEventMsg{record.Message{Peer: "asha.rao@sbx", ID: "2", At: testNow, Direction: record.In,
				ContentType: "text", Text: "I am ready when you are", Status: "received"}})
			m, _ = update(t, m, press("t"))
			checkGolden(t, m, w, h)
		})
		t.Run(sizeName("call_notes", w, h), func(t *testing.T) {
			m := chatCall(t, w, h)
			m, _ = update(t, m, press("n"))
			m = typeText(t, m, "rash on the left arm")
			checkGolden(t, m, w, h)
		})
	}
}

func TestAlertShown(t *testing.T) {
	alerts := make(chan error, 1)
	m := loaded(t, newFake(&recorder{}, nil), 80, 24, WithAlerts(alerts))
	alerts <- errors.New("the record could not be written: disk full")
	var got tea.Msg
	for _, msg := range run(t, waitAlertCmd(alerts)) {
		got = msg
	}
	m, cmd := update(t, m, got)
	if cmd == nil || !strings.Contains(chatLines(t, m), "the record could not be written: disk full") {
		t.Fatalf("alert not on screen (re-armed: %v):\n%s", cmd != nil, chatLines(t, m))
	}
}

// TestChatKeepsTheQueueLineInSight: with the chat pane open in a call, at
// every size, the queue line still says who waits and who is next.
func TestChatKeepsTheQueueLineInSight(t *testing.T) {
	for _, sz := range sizes {
		m := chatCall(t, sz.w, sz.h)
		for _, key := range []string{"", "t"} {
			if key != "" {
				m, _ = update(t, m, press(key))
			}
			plain := ansi.Strip(m.View().Content)
			if !strings.Contains(plain, "Queue 1 waiting | next Meera Iyer") || !strings.Contains(plain, "- Chat -") {
				t.Errorf("%dx%d, chat open (%q pressed): no queue line beside the chat:\n%s", sz.w, sz.h, key, plain)
			}
		}
	}
}

package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"teleconsole/record"
)

// Chatter is the console's chat with patients and the doctor's notes, for
// the chat pane (WithChat). Without one, the chat keys do nothing.
type Chatter interface {
	// ChatEvents delivers every chat message in and out, and each outbound
	// message again with its delivery result (same ID).
	ChatEvents() <-chan record.Message
	// SendChat queues text for the patient at addr.
	SendChat(addr, text string) error
	// SendFile queues the file at path for the patient at addr.
	SendFile(addr, path string) error
	// SetNotes keeps the doctor's notes on the consultation with addr.
	SetNotes(addr, text string)
}

// WithChat gives the console's chat and notes to the model: t, a and n
// open the chat line, the attachment prompt and the notes.
func WithChat(c Chatter) Option {
	return func(m *Model) { m.chat.chatter = c }
}

// WithAlerts shows each error that arrives on ch on the error line: a
// failure the doctor must know of that no command of theirs reported (the
// record not written, say).
func WithAlerts(ch <-chan error) Option {
	return func(m *Model) { m.alerts = ch }
}

// alertMsg carries one error from the alerts channel.
type alertMsg struct{ err error }

func waitAlertCmd(ch <-chan error) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		err, ok := <-ch
		if !ok {
			return nil
		}
		return alertMsg{err}
	}
}

// chatMode is what the chat pane's input is doing.
type chatMode int

const (
	chatClosed chatMode = iota
	chatTyping
	chatAttaching
	chatNotes
)

// chatKeep is how many messages of each patient the pane keeps on screen
// (the record keeps them all).
const chatKeep = 200

// notesLines is the height of the notes editor.
const notesLines = 6

// chatModel is the chat pane: each patient's messages, their unread
// counts, the doctor's notes as typed, and the input open for one patient.
type chatModel struct {
	chatter Chatter
	styles  Styles
	logs    map[string][]record.Message
	unread  map[string]int
	notes   map[string]string
	mode    chatMode
	peer    string // the patient the input is for
	input   textinput.Model
	area    textarea.Model
	width   int
	// One save of the notes at a time, so they reach the console in the
	// order typed: commands run concurrently, and a late save of older
	// text would undo a newer one.
	saving bool
	dirty  map[string]bool // notes changed while a save was out
}

func newChatModel(st Styles) chatModel {
	in := textinput.New()
	in.CharLimit = 2000
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = "| "
	ta.SetHeight(notesLines)
	c := chatModel{logs: map[string][]record.Message{}, unread: map[string]int{},
		notes: map[string]string{}, dirty: map[string]bool{}, input: in, area: ta}
	c.setStyles(st)
	return c
}

// setStyles sets the pane's palette, the input's and the editor's with it.
func (c *chatModel) setStyles(st Styles) {
	c.styles = st
	c.input.SetStyles(st.Input)
	c.area.SetStyles(st.Notes)
}

func (c *chatModel) setWidth(w int) {
	c.width = w
	c.input.SetWidth(max(10, w-12))
	c.area.SetWidth(max(10, w-2))
}

// enabled says whether there is a chat to open.
func (c chatModel) enabled() bool { return c.chatter != nil }

// open reports whether an input is open, so keys go to it.
func (c chatModel) open() bool { return c.mode != chatClosed }

// add takes one chat event: a new message, or a known one's new status.
// viewing is the patient whose chat is on screen: their messages are read.
func (c *chatModel) add(m record.Message, viewing string) {
	log := c.logs[m.Peer]
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].ID == m.ID {
			log[i].Status = m.Status
			return
		}
	}
	log = append(log, m)
	if len(log) > chatKeep {
		log = log[len(log)-chatKeep:]
	}
	c.logs[m.Peer] = log
	if m.Direction == record.In && m.Peer != viewing {
		c.unread[m.Peer]++
	}
}

// read clears a patient's unread count: their chat is on screen.
func (c *chatModel) read(addr string) { delete(c.unread, addr) }

// start opens the input of mode for the patient at addr.
func (c chatModel) start(mode chatMode, addr string) (chatModel, tea.Cmd) {
	c.mode, c.peer = mode, addr
	c.read(addr)
	switch mode {
	case chatNotes:
		c.area.SetValue(c.notes[addr])
		return c, c.area.Focus()
	case chatAttaching:
		c.input.Prompt = "attach file: "
	default:
		c.input.Prompt = "say: "
	}
	c.input.Reset()
	return c, c.input.Focus()
}

func (c *chatModel) close() {
	c.mode = chatClosed
	c.input.Blur()
	c.area.Blur()
}

// chatFailedMsg reports a chat message or file that could not be queued.
type chatFailedMsg struct{ err error }

// chatEventMsg carries one chat event.
type chatEventMsg struct{ m record.Message }

// waitChatCmd waits for the next chat event.
func waitChatCmd(ch <-chan record.Message) tea.Cmd {
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		m, ok := <-ch
		if !ok {
			return nil
		}
		return chatEventMsg{m}
	}
}

func sendChatCmd(c Chatter, addr, text string) tea.Cmd {
	return func() tea.Msg {
		if err := c.SendChat(addr, text); err != nil {
			return chatFailedMsg{fmt.Errorf("message not sent: %w", err)}
		}
		return nil
	}
}

func sendFileCmd(c Chatter, addr, path string) tea.Cmd {
	return func() tea.Msg {
		if err := c.SendFile(addr, path); err != nil {
			return chatFailedMsg{fmt.Errorf("file not sent: %w", err)}
		}
		return nil
	}
}

// notesSavedMsg says a save of the notes is done.
type notesSavedMsg struct{}

func setNotesCmd(c Chatter, addr, text string) tea.Cmd {
	return func() tea.Msg {
		c.SetNotes(addr, text)
		return notesSavedMsg{}
	}
}

// save saves addr's notes now, or after the save out now.
func (c *chatModel) save(addr string) tea.Cmd {
	if c.saving {
		c.dirty[addr] = true
		return nil
	}
	c.saving = true
	return setNotesCmd(c.chatter, addr, c.notes[addr])
}

// saved takes the end of a save and starts the next one, if notes changed
// meanwhile.
func (c *chatModel) saved() tea.Cmd {
	c.saving = false
	for addr := range c.dirty {
		delete(c.dirty, addr)
		return c.save(addr)
	}
	return nil
}

// update takes a key while an input is open: Enter sends (a new line in
// the notes), Esc closes (the notes are kept as typed all along).
func (c chatModel) update(msg tea.KeyPressMsg, k KeyMap) (chatModel, tea.Cmd) {
	if c.mode == chatNotes {
		if key.Matches(msg, k.CloseInput) {
			c.close()
			return c, nil
		}
		var cmd tea.Cmd
		before := c.area.Value()
		c.area, cmd = c.area.Update(msg)
		if v := c.area.Value(); v != before {
			c.notes[c.peer] = v
			cmd = tea.Batch(cmd, c.save(c.peer))
		}
		return c, cmd
	}
	switch {
	case key.Matches(msg, k.CloseInput):
		c.close()
		return c, nil
	case key.Matches(msg, k.Send):
		text := strings.TrimSpace(c.input.Value())
		if text == "" {
			return c, nil
		}
		c.input.Reset()
		if c.mode == chatAttaching {
			c.close()
			return c, sendFileCmd(c.chatter, c.peer, text)
		}
		return c, sendChatCmd(c.chatter, c.peer, text)
	}
	var cmd tea.Cmd
	c.input, cmd = c.input.Update(msg)
	return c, cmd
}

// height is how many lines the pane takes for addr in a content area of h
// lines: none when there is nothing to show.
func (c chatModel) height(addr string, h int) int {
	inputOpen := c.mode != chatClosed && c.peer == addr
	switch {
	case c.mode == chatNotes && c.peer == addr:
		return min(h/2+2, notesLines+1)
	case inputOpen, len(c.logs[addr]) > 0:
		// The rule, the messages (or a line saying there are none), and
		// the input when open.
		want := 1 + max(1, len(c.logs[addr])) + btoi(inputOpen)
		return min(want, h/3+1, 8)
	}
	return 0
}

// view draws the pane for addr in w by h cells: a rule with the title,
// the latest messages, and the open input.
func (c chatModel) view(addr string, w, h int) string {
	st := c.styles
	if h <= 0 {
		return ""
	}
	title := " Chat "
	if c.mode == chatNotes && c.peer == addr {
		title = " Notes (esc closes; kept as typed) "
	}
	rule := st.Border.Render("-" + title + strings.Repeat("-", max(0, w-1-ansi.StringWidth(title))))
	lines := []string{fitLine(rule, w)}
	if c.mode == chatNotes && c.peer == addr {
		for _, l := range strings.Split(c.area.View(), "\n") {
			lines = append(lines, fitLine(l, w))
		}
		return fitBlock(strings.Join(lines, "\n"), w, h)
	}
	room := h - 1
	var input string
	if c.mode != chatClosed && c.peer == addr {
		room--
		input = fitLine(c.input.View(), w)
	}
	log := c.logs[addr]
	var body []string
	for i := len(log) - 1; i >= 0 && len(body) < room; i-- {
		body = append(body, c.line(log[i], w))
	}
	if len(log) == 0 && room > 0 {
		body = append(body, fitLine(st.Dim.Render(" No messages yet."), w))
	}
	// The newest message sits just above the input.
	for range room - len(body) {
		lines = append(lines, "")
	}
	for i := len(body) - 1; i >= 0; i-- {
		lines = append(lines, body[i])
	}
	out := fitBlock(strings.Join(lines, "\n"), w, h-btoi(input != ""))
	if input != "" {
		out += "\n" + input
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// line draws one message: time, who, what, and how it went.
func (c chatModel) line(m record.Message, w int) string {
	st := c.styles
	who, style := "patient", st.Value
	if m.Direction == record.Out {
		who, style = "you", st.Label
	}
	text := strings.Join(strings.Fields(m.Text), " ")
	status := ""
	switch {
	case m.ContentType == "media":
		text = "[file] " + text
		if m.Path != "" {
			status = "saved " + m.Path
		}
		if m.Direction == record.Out || m.Path == "" {
			status = m.Status
		}
	case strings.HasPrefix(m.Status, "unreadable"):
		text, style = "(encrypted, not readable)", st.Warn
		status = m.Status
	case m.Direction == record.Out:
		status = m.Status
	}
	s := fmt.Sprintf(" %s %-7s %s", m.At.Local().Format("15:04"), who, text)
	line := style.Render(cut(s, w))
	if status != "" {
		sty := st.Dim
		if strings.HasPrefix(status, "failed") || strings.HasPrefix(status, "unreadable") {
			sty = st.Bad
		}
		line += sty.Render(cut("  ["+status+"]", max(0, w-ansi.StringWidth(s))))
	}
	return fitLine(line, w)
}

// overlay puts pane over the last lines of block (h lines of w cells).
func overlay(block, pane string) string {
	if pane == "" {
		return block
	}
	lines := strings.Split(block, "\n")
	p := strings.Split(pane, "\n")
	if len(p) > len(lines) {
		p = p[len(p)-len(lines):]
	}
	copy(lines[len(lines)-len(p):], p)
	return strings.Join(lines, "\n")
}

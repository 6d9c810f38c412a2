package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// Prescriber writes, checks, signs and sends a consultation's prescription
// (WithPrescriber): the form is text the doctor edits, "field: value" a
// line and one "rx:" line a medicine.
type Prescriber interface {
	// RxForm returns the form for the patient at addr, as last written
	// or new, and the consultation's mode (video, audio, text).
	RxForm(addr string) (text, mode string, err error)
	// RxSave keeps the form as written and returns what would refuse it
	// (problems) and what to note (a medicine on no list).
	RxSave(addr, text string) (problems, notes []string)
	// RxSign signs the form, keeps it and sends it to the patient, and
	// says what was done; an error says every reason it was refused.
	RxSign(addr, text string) (string, error)
	// RxHint says how the form's lines are written, in a line.
	RxHint() string
}

// WithPrescriber gives the model the prescription screen: r opens it for
// the patient called or selected.
func WithPrescriber(p Prescriber) Option {
	return func(m *Model) { m.rx.source = p }
}

// rxModel is the prescription screen: the form in an editor, what the
// guideline says of it below.
type rxModel struct {
	source Prescriber
	styles Styles
	open   bool
	peer   string
	name   string
	mode   string
	// area is the editor, by pointer: the console's model is copied at
	// every message, ten a second during a call, and an editor is large.
	area     *textarea.Model
	problems []string
	notes    []string
	signing  bool
	hint     string // how a medicine is written
	w, h     int
}

// rx messages: the form read, checked, signed.
type (
	rxFormMsg struct {
		addr, text, mode string
		err              error
	}
	rxCheckedMsg struct {
		addr            string
		problems, notes []string
	}
	rxSignedMsg struct {
		addr, what string
		err        error
	}
)

func rxFormCmd(p Prescriber, addr string) tea.Cmd {
	return func() tea.Msg {
		text, mode, err := p.RxForm(addr)
		return rxFormMsg{addr, text, mode, err}
	}
}

func rxSaveCmd(p Prescriber, addr, text string) tea.Cmd {
	return func() tea.Msg {
		problems, notes := p.RxSave(addr, text)
		return rxCheckedMsg{addr, problems, notes}
	}
}

func rxSignCmd(p Prescriber, addr, text string) tea.Cmd {
	return func() tea.Msg {
		what, err := p.RxSign(addr, text)
		return rxSignedMsg{addr, what, err}
	}
}

// rxBelow is how many lines under the editor say what the guideline
// says of the form.
const rxBelow = 4

// setSize sizes the editor for a screen of w by h: the title and the hint
// above it, rxBelow lines below.
func (r *rxModel) setSize(w, h int) {
	r.w, r.h = w, h
	if r.area == nil {
		return // no editor yet: start makes it
	}
	r.area.SetWidth(max(10, w))
	r.area.SetHeight(max(3, h-2-rxBelow))
}

// start opens the screen for the patient at addr (name for the title).
func (r rxModel) start(addr, name string) (rxModel, tea.Cmd) {
	if r.source == nil || addr == "" {
		return r, nil
	}
	r.open, r.peer, r.name, r.problems, r.notes, r.signing = true, addr, name, nil, nil, false
	r.hint = r.source.RxHint()
	ta := textarea.New()
	ts := ta.Styles()
	ts.Cursor.Blink = false
	ta.SetStyles(ts)
	ta.ShowLineNumbers = false
	ta.Prompt = ""
	ta.CharLimit = 0
	ta.MaxHeight = 0
	r.area = &ta
	r.setSize(r.w, r.h)
	return r, rxFormCmd(r.source, addr)
}

// formRead fills the editor with the form read.
func (r rxModel) formRead(msg rxFormMsg) (rxModel, tea.Cmd) {
	if !r.open || msg.addr != r.peer {
		return r, nil
	}
	r.mode = msg.mode
	r.area.SetValue(msg.text)
	r.area.MoveToBegin()
	r.area.CursorEnd()
	return r, tea.Batch(r.area.Focus(), rxSaveCmd(r.source, r.peer, msg.text))
}

// update takes a key: ctrl+s signs and sends, esc keeps the form and
// closes; the rest edit, and leaving a line checks the form.
func (r rxModel) update(msg tea.KeyPressMsg, k KeyMap) (rxModel, tea.Cmd) {
	switch {
	case key.Matches(msg, k.SignRx):
		if r.signing {
			return r, nil
		}
		r.signing = true
		return r, rxSignCmd(r.source, r.peer, r.area.Value())
	case key.Matches(msg, k.CloseInput):
		r.open = false
		r.area.Blur()
		return r, rxSaveCmd(r.source, r.peer, r.area.Value())
	}
	before := r.area.Value()
	area, cmd := r.area.Update(msg)
	r.area = &area
	switch msg.String() {
	case "enter", "up", "down", "tab":
		return r, tea.Batch(cmd, rxSaveCmd(r.source, r.peer, r.area.Value()))
	}
	if r.area.Value() != before && len(r.problems) > 0 && msg.String() == " " {
		cmd = tea.Batch(cmd, rxSaveCmd(r.source, r.peer, r.area.Value()))
	}
	return r, cmd
}

// view draws the screen in w by h: the title line, the editor, and the
// problems (or notes) below, as many as fit in a third of the height.
func (r rxModel) view(w, h int) string {
	st := r.styles
	title := fmt.Sprintf(" Prescription for %s, %s consultation", r.name, r.mode)
	type note struct {
		style func(...string) string
		text  string
	}
	var below []note
	switch {
	case r.signing:
		below = append(below, note{st.Prompt.Render, "Signing and sending..."})
	case len(r.problems) > 0:
		for _, p := range r.problems {
			// A reason is read whole: it wraps.
			for i, l := range strings.Split(ansi.Wordwrap(p, max(10, r.w-3), ""), "\n") {
				below = append(below, note{st.Error.Render, pick(i == 0, "✗ ", "  ") + l})
			}
		}
	default:
		below = append(below, note{st.Good.Render, "✓ ready: ctrl+s signs it and sends it to the patient"})
	}
	for _, n := range r.notes {
		below = append(below, note{st.Dim.Render, "! " + n})
	}
	room := rxBelow
	if len(below) > room {
		more := len(below) - room + 1
		below = append(below[:room-1], note{st.Dim.Render, fmt.Sprintf("... and %d more", more)})
	}
	lines := []string{fitLine(st.Heading.Render(cut(title, w)), w), fitLine(st.Dim.Render(" "+cut(r.hint, w-1)), w)}
	lines = append(lines, strings.Split(r.area.View(), "\n")...)
	for _, b := range below {
		lines = append(lines, fitLine(b.style(" "+cut(b.text, w-1)), w))
	}
	return fitBlock(strings.Join(lines, "\n"), w, h)
}

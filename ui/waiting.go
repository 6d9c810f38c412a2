package ui

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"teleconsole/waitingroom"
)

// waitingModel is the waiting room screen: the patients in arrival order,
// with one selected. The selection follows the patient, by address, when the
// list changes under it.
type waitingModel struct {
	styles   Styles
	patients []waitingroom.Patient
	selected int
	selAddr  string
	asOf     time.Time
	loaded   bool
	last     string         // the last call's summary line, or empty
	unread   map[string]int // unread chat messages by address
	// photoNote says what there is of a patient's photo (Photos), or is nil.
	photoNote func(addr string) string
	// bookNote says whether a patient is booked or walked in (WithDay),
	// or is nil.
	bookNote func(p waitingroom.Patient) string
	width    int
	height   int
}

func newWaitingModel(st Styles) waitingModel {
	return waitingModel{styles: st}
}

// SetSize sets the cells the screen may draw in.
func (m *waitingModel) SetSize(w, h int) { m.width, m.height = w, h }

// SetLastCall sets the line that sums up the last call, or clears it with
// "". The line is plain text, already made safe to draw.
func (m *waitingModel) SetLastCall(s string) { m.last = s }

// SetUnread sets the patients' counts of unread chat messages, shown
// beside their names.
func (m *waitingModel) SetUnread(u map[string]int) { m.unread = u }

// SetPatients replaces the list with a fresh snapshot taken at asOf.
func (m *waitingModel) SetPatients(ps []waitingroom.Patient, asOf time.Time) {
	m.patients, m.asOf, m.loaded = ps, asOf, true
	m.selected = min(m.selected, max(0, len(ps)-1))
	for i, p := range ps {
		if p.Address == m.selAddr {
			m.selected = i
			break
		}
	}
	if len(ps) > 0 {
		m.selAddr = ps[m.selected].Address
	} else {
		m.selAddr = ""
	}
}

// SelectNext selects the first waiting patient, the one the call screen
// named as next, if anyone is waiting; otherwise the selection stays.
func (m *waitingModel) SelectNext() {
	for i, p := range m.patients {
		if p.State == waitingroom.StateWaiting {
			m.selected, m.selAddr = i, p.Address
			return
		}
	}
}

// Selected returns the selected patient, if there is one.
func (m waitingModel) Selected() (waitingroom.Patient, bool) {
	if m.selected < 0 || m.selected >= len(m.patients) {
		return waitingroom.Patient{}, false
	}
	return m.patients[m.selected], true
}

// selectAddress selects the patient at addr, if listed.
func (m *waitingModel) selectAddress(addr string) {
	for i, p := range m.patients {
		if strings.EqualFold(p.Address, addr) {
			m.selected, m.selAddr = i, p.Address
			return
		}
	}
}

// Update moves the selection on Up and Down.
func (m waitingModel) Update(msg tea.KeyPressMsg, keys KeyMap) waitingModel {
	switch {
	case key.Matches(msg, keys.Up):
		m.selected = max(0, m.selected-1)
	case key.Matches(msg, keys.Down):
		m.selected = min(len(m.patients)-1, m.selected+1)
	default:
		return m
	}
	if p, ok := m.Selected(); ok {
		m.selAddr = p.Address
	}
	return m
}

// columns returns the widths of the name and address columns, and of the
// note column (zero when there is no room for one), for an inner width w.
func (m waitingModel) columns(w int) (name, addr, note int) {
	// marker(2) name sp addr sp waiting(7) sp state(11)
	rest := w - 2 - 3 - 7 - 11
	if rest >= 90 {
		note = rest / 4
		rest -= note + 1
	}
	name = max(8, rest*2/5)
	addr = max(8, rest-name)
	return name, addr, note
}

// View draws the waiting room in a box.
func (m waitingModel) View() string {
	inner := m.width - 2
	title := fmt.Sprintf("Waiting room (%d)", len(m.patients))
	st := m.styles
	if !m.loaded {
		return box(st.Border, "Waiting room", st.Dim.Render(" Loading the waiting room..."), m.width, m.height)
	}
	// The lines at the foot of the box: the selected patient's detail, and
	// the last call's summary.
	var foot []string
	if p, ok := m.Selected(); ok {
		foot = append(foot, st.Dim.Render(" "+m.detail(p)))
	}
	if m.last != "" {
		foot = append(foot, st.Value.Render(" "+cut(m.last, inner-1)))
	}
	withFoot := func(lines []string) string {
		for len(lines) < m.height-2-len(foot) {
			lines = append(lines, "")
		}
		return box(st.Border, title, strings.Join(append(lines, foot...), "\n"), m.width, m.height)
	}
	if len(m.patients) == 0 {
		body := []string{
			"",
			center("No patients are waiting.", inner),
			"",
			center("A patient appears here when their app sends READY.", inner),
		}
		for i, l := range body {
			body[i] = st.Dim.Render(l)
		}
		return withFoot(body)
	}

	nameW, addrW, noteW := m.columns(inner)
	row := func(name, addr, wait, state, note string) string {
		s := fmt.Sprintf("%-*s %-*s %7s %-11s", nameW, cut(name, nameW), addrW, cut(addr, addrW), wait, state)
		if noteW > 0 {
			s += " " + cut(note, noteW)
		}
		return s
	}
	lines := []string{st.Header.Render("  " + row("Patient", "Address", "Waiting", "State", "Note"))}

	// Rows shown: the box's inner height less the heading, a blank line and
	// the foot.
	visible := max(1, m.height-2-1-1-len(foot))
	first := 0
	if m.selected >= visible {
		first = m.selected - visible + 1
	}
	for i := first; i < len(m.patients) && i < first+visible; i++ {
		p := m.patients[i]
		name := p.Name
		if n := m.unread[p.Address]; n > 0 {
			name = fmt.Sprintf("(%d) %s", n, name)
		}
		text := row(name, p.Address, formatWait(p.Waited(m.asOf)), p.State.String(), p.Note)
		if i == m.selected {
			lines = append(lines, st.Selected.Render(fitLine("> "+text, inner)))
			continue
		}
		lines = append(lines, "  "+m.stateStyle(p.State).Render(text))
	}
	return withFoot(lines)
}

// detail describes the selected patient on one line.
func (m waitingModel) detail(p waitingroom.Patient) string {
	parts := []string{"heard " + formatWait(m.asOf.Sub(p.LastHeard)) + " ago"}
	if m.bookNote != nil {
		if n := m.bookNote(p); n != "" {
			parts = append(parts, n)
		}
	}
	if p.TransactionID != "" {
		parts = append(parts, "txn "+p.TransactionID)
	}
	if p.Note != "" {
		parts = append(parts, p.Note)
	}
	if m.photoNote != nil {
		parts = append(parts, m.photoNote(p.Address))
	}
	if !p.State.Callable() {
		parts = append(parts, "cannot be called now")
	}
	return strings.Join(parts, " | ")
}

func (m waitingModel) stateStyle(s waitingroom.State) lipgloss.Style {
	switch s {
	case waitingroom.StateWaiting:
		return m.styles.Value
	case waitingroom.StateCalling, waitingroom.StateInCall:
		return m.styles.Good
	case waitingroom.StateNoAnswer, waitingroom.StateLost, waitingroom.StateUnreachable:
		return m.styles.Warn
	default:
		return m.styles.Dim
	}
}

// cut makes text from the network safe to draw and shortens it to at most w
// cells, marking the cut with a '~'. Control characters (an escape sequence
// in a patient's name must not reach the terminal) and runes that are not
// one cell wide become '?'.
func cut(s string, w int) string {
	r := []rune(s)
	for i, c := range r {
		if !unicode.IsPrint(c) || ansi.StringWidth(string(c)) != 1 {
			r[i] = '?'
		}
	}
	s = string(r)
	if len(r) <= w {
		return s
	}
	if w <= 1 {
		return string(r[:max(0, w)])
	}
	return string(r[:w-1]) + "~"
}

// formatLength writes a call's length as m:ss: "3:12", "75:03".
func formatLength(d time.Duration) string {
	s := max(0, int(d/time.Second))
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// formatWait writes a duration the way the waiting room shows it: "45s",
// "3m12s", "1h02m".
func formatWait(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
}

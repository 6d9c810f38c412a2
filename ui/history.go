package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"teleconsole/record"
)

// Historian reads past consultations from the record, for the history
// screen (WithHistory).
type Historian interface {
	// History returns consultations newest first: at most limit, of one
	// patient when patient is not "", after the place before names (from
	// the newest when it is zero).
	History(patient string, before record.Cursor, limit int) ([]record.Consultation, error)
	// Consultation returns one consultation with its chat, files and notes.
	Consultation(id string) (record.Detail, error)
}

// Copier writes the patient's copy of a past consultation (a PDF), for the
// history screen: a Historian that is one offers it on a consultation
// opened.
type Copier interface {
	PatientCopy(id string) (path string, err error)
}

// copiedMsg says where the patient's copy went, or why it did not.
type copiedMsg struct {
	path string
	err  error
}

func copyCmd(c Copier, id string) tea.Cmd {
	return func() tea.Msg {
		path, err := c.PatientCopy(id)
		return copiedMsg{path, err}
	}
}

// copier is the history's Copier, or nil.
func (h historyModel) copier() Copier {
	c, _ := h.source.(Copier)
	return c
}

// WithHistory gives the model the record to read: h opens the history.
func WithHistory(h Historian) Option {
	return func(m *Model) { m.history.source = h }
}

// historyModel is the history screen: a list of past consultations, newest
// first, of everyone or of one patient, and one of them opened.
type historyModel struct {
	source   Historian
	styles   Styles
	open     bool
	patient  string // the filter, or ""
	list     []record.Consultation
	selected int
	detail   *record.Detail
	loading  bool
	more     bool // the last page read was full: there may be more
	gen      int  // tells this list's pages from a list read before
	rows     int  // rows shown in the last view, for paging
}

// historyAhead is how close to the end of what is read the selection comes
// before the next page is asked for, so scrolling rarely waits for it.
const historyAhead = 40

// historyMsg carries a page read for the history screen: the first of
// gen's list, or the next (more).
type historyMsg struct {
	gen  int
	next bool
	list []record.Consultation
	err  error
}

// detailMsg carries one consultation read for the history screen.
type detailMsg struct {
	d   record.Detail
	err error
}

func loadHistoryCmd(h Historian, gen int, patient string, before record.Cursor) tea.Cmd {
	return func() tea.Msg {
		list, err := h.History(patient, before, record.HistoryPage)
		return historyMsg{gen: gen, next: !before.IsZero(), list: list, err: err}
	}
}

func loadDetailCmd(h Historian, id string) tea.Cmd {
	return func() tea.Msg {
		d, err := h.Consultation(id)
		return detailMsg{d: d, err: err}
	}
}

// start opens the history of everyone.
func (h historyModel) start() (historyModel, tea.Cmd) {
	h.open, h.patient, h.detail = true, "", nil
	return h, h.reload()
}

// reload reads the list again from its first page.
func (h *historyModel) reload() tea.Cmd {
	h.gen++
	h.list, h.selected, h.loading, h.more = nil, 0, true, false
	return loadHistoryCmd(h.source, h.gen, h.patient, record.Cursor{})
}

func (h *historyModel) loaded(msg historyMsg) {
	if msg.gen != h.gen {
		return // a filter changed since, or the history was opened again
	}
	h.loading = false
	if msg.err != nil {
		return // shown by the model; what was read stays
	}
	h.list = append(h.list, msg.list...)
	h.more = len(msg.list) >= record.HistoryPage
	h.selected = min(h.selected, max(0, len(h.list)-1))
}

// next asks for the page after what is read when the selection nears its
// end and there may be more; one page at a time.
func (h *historyModel) next() tea.Cmd {
	if !h.more || h.loading || len(h.list) == 0 || h.selected < len(h.list)-historyAhead {
		return nil
	}
	h.loading = true
	return loadHistoryCmd(h.source, h.gen, h.patient, h.list[len(h.list)-1].Cursor())
}

// update takes a key while the history is open; selected is the waiting
// room's patient, the one the filter keeps.
func (h historyModel) update(msg tea.KeyPressMsg, k KeyMap, selected string) (historyModel, tea.Cmd) {
	switch {
	case key.Matches(msg, k.CloseInput):
		if h.detail != nil {
			h.detail = nil
			return h, nil
		}
		h.open = false
		return h, nil
	case h.detail != nil:
		if c := h.copier(); c != nil && key.Matches(msg, k.PatientCopy) {
			return h, copyCmd(c, h.detail.ID)
		}
		return h, nil
	case key.Matches(msg, k.Up):
		h.selected = max(0, h.selected-1)
	case key.Matches(msg, k.Down):
		h.selected = min(max(0, len(h.list)-1), h.selected+1)
		return h, h.next()
	case key.Matches(msg, k.PageUp):
		h.selected = max(0, h.selected-max(1, h.rows))
	case key.Matches(msg, k.PageDown):
		h.selected = min(max(0, len(h.list)-1), h.selected+max(1, h.rows))
		return h, h.next()
	case key.Matches(msg, k.Filter):
		if h.patient == "" {
			h.patient = selected
		} else {
			h.patient = ""
		}
		return h, h.reload()
	case key.Matches(msg, k.Send):
		if h.selected < len(h.list) {
			return h, loadDetailCmd(h.source, h.list[h.selected].ID)
		}
	}
	return h, nil
}

// view draws the list, or the consultation opened, in w by h cells.
func (h historyModel) view(w, hgt int) string {
	if h.detail != nil {
		return fitBlock(h.detailView(w), w, hgt)
	}
	st := h.styles
	title := "History"
	if h.patient != "" {
		title += " of " + h.patient
	}
	if len(h.list) > 0 {
		title += fmt.Sprintf(" (%d%s)", len(h.list), pick(h.more, "+", ""))
	}
	var lines []string
	if h.loading && len(h.list) == 0 {
		lines = append(lines, st.Dim.Render(" Reading the record..."))
	} else if len(h.list) == 0 {
		lines = append(lines, st.Dim.Render(" No consultations recorded."))
	} else {
		row := func(when, name, length, end, msgs, files string) string {
			return fmt.Sprintf("%-16s %-20s %6s %-20s %4s %5s", when, cut(name, 20), length, cut(end, 20), msgs, files)
		}
		lines = append(lines, st.Header.Render("  "+row("Started", "Patient", "Length", "End", "Msgs", "Files")))
		inner := h.listRows(hgt)
		first := max(0, h.selected-inner+1)
		for i := first; i < len(h.list) && len(lines) <= inner; i++ {
			c := h.list[i]
			name := c.Patient.Name
			if name == "" {
				name = c.Patient.Address
			}
			end := c.EndReason
			if c.State == record.StateInterrupted {
				end = "interrupted"
			} else if end == "" {
				end = "no call"
			}
			text := row(c.Started.Local().Format("2006-01-02 15:04"), name, formatLength(c.Length), end,
				fmt.Sprint(c.Messages), fmt.Sprint(c.Files))
			if i == h.selected {
				lines = append(lines, st.Selected.Render(fitLine("> "+text, w-2)))
			} else {
				lines = append(lines, "  "+text)
			}
		}
	}
	return box(st.Border, title, strings.Join(lines, "\n"), w, hgt)
}

// listRows is how many consultations the list shows in a box hgt high.
func (h historyModel) listRows(hgt int) int { return max(1, hgt-3) }

// detailView is one consultation: who, when, how it went, then its chat,
// files and notes.
func (h historyModel) detailView(w int) string {
	st := h.styles
	d := h.detail
	q := d.Quality
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("2006-01-02 15:04")
	}
	end := d.EndReason
	if d.State == record.StateInterrupted {
		end = "interrupted (the console stopped during it)"
	}
	lines := []string{
		st.Heading.Render(fmt.Sprintf(" %s <%s>", d.Patient.Name, d.Patient.Address)) +
			st.Dim.Render(fmt.Sprintf("  %s  txn %s", d.Patient.Gender, d.Patient.TransactionID)),
		fmt.Sprintf(" listed %s  called %s  ended %s", stamp(d.Listed), stamp(d.CallStarted), stamp(d.Ended)),
		fmt.Sprintf(" length %s  end: %s", formatLength(d.Length), end),
		st.Dim.Render(fmt.Sprintf(" setup %s  rtt %s median, %s worst  loss %.1f%%",
			q.Setup.Round(time.Millisecond), q.RTTMedian.Round(time.Millisecond), q.RTTWorst.Round(time.Millisecond), q.LossPercent)),
		st.Dim.Render(fmt.Sprintf(" in %d kb/s  out %d kb/s  audio only %s  reconnects %d",
			q.BitrateIn/1000, q.BitrateOut/1000, q.AudioOnly.Round(time.Second), q.Reconnects)),
		"",
		st.Header.Render(" Chat"),
	}
	cm := chatModel{styles: st}
	if len(d.ChatLog) == 0 {
		lines = append(lines, st.Dim.Render("  none"))
	}
	for _, m := range d.ChatLog {
		lines = append(lines, cm.line(m, w))
	}
	lines = append(lines, "", st.Header.Render(" Files"))
	if len(d.FileList) == 0 {
		lines = append(lines, st.Dim.Render("  none"))
	}
	for _, f := range d.FileList {
		lines = append(lines, fmt.Sprintf("  %s %s (%s, %d bytes) %s", pick(f.Direction == record.Out, "sent", "received"),
			f.Name, f.MimeType, f.Size, st.Dim.Render(f.Path)))
	}
	lines = append(lines, "", st.Header.Render(" Notes"))
	if d.Notes == "" {
		lines = append(lines, st.Dim.Render("  none"))
	}
	for _, l := range strings.Split(d.Notes, "\n") {
		if d.Notes != "" {
			lines = append(lines, "  "+l)
		}
	}
	return strings.Join(lines, "\n")
}

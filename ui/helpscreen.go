package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
)

// helpModel is the help screen: the full help of the bindings that apply
// where the doctor is, and the few rules keys alone do not say.
type helpModel struct {
	styles      Styles
	help        help.Model
	returnAfter time.Duration // see Model.returnAfter
	width       int
	height      int
}

func newHelpModel(st Styles, returnAfter time.Duration) helpModel {
	h := help.New()
	h.Styles = st.Help
	h.ShortSeparator = "  "
	h.FullSeparator = "    "
	h.Ellipsis = "..."
	return helpModel{styles: st, help: h, returnAfter: returnAfter}
}

// SetSize sets the cells the screen may draw in.
func (m *helpModel) SetSize(w, h int) {
	m.width, m.height = w, h
	m.help.SetWidth(max(0, w-4))
}

// ShortView is the one-line help shown under every screen.
func (m helpModel) ShortView(keys KeyMap) string {
	hm := m.help
	hm.SetWidth(m.width)
	return hm.ShortHelpView(keys.ShortHelp())
}

// View draws the help screen for keys, already set for the current context.
func (m helpModel) View(keys KeyMap) string {
	st := m.styles
	notes := []string{
		"Keys for this screen (keys that do nothing here are not listed):",
		"",
	}
	full := strings.Split(m.help.FullHelpView(keys.FullHelp()), "\n")
	for _, l := range full {
		notes = append(notes, "  "+l)
	}
	notes = append(notes, "")
	if m.returnAfter > 0 {
		notes = append(notes,
			st.Dim.Render(fmt.Sprintf("After a call ends, the waiting room comes back by itself in %s;", formatWait(m.returnAfter))),
			st.Dim.Render("enter or esc returns at once."),
		)
	} else {
		notes = append(notes, st.Dim.Render("After a call ends, enter or esc returns to the waiting room."))
	}
	notes = append(notes,
		st.Dim.Render("During a call q asks before it hangs up and quits;"),
		st.Dim.Render("ctrl+c always hangs up and quits at once."),
		st.Dim.Render("The waiting room refreshes every second. ? or esc closes help."),
	)
	for i, l := range notes {
		notes[i] = " " + l
	}
	return box(st.Border, "Help", strings.Join(notes, "\n"), m.width, m.height)
}

package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/textinput"
	"charm.land/lipgloss/v2"
)

// Styles holds every style the console draws with: the console's palette.
// Every view reads its colours from here, by role (Value, Dim, Warn, ...),
// never a colour of its own, so that a view fits the terminal's background
// as the rest does. A new role is a new field, set in each of the palettes
// below; TestPaletteContrast then holds it to 4.5:1 on every background.
//
// Colours are picked from the 256 colour palette's fixed part (16 to 255),
// whose colours are the same on every terminal; the first 16 are the
// terminal's own and are never used.
type Styles struct {
	// Title is the top line's application name.
	Title lipgloss.Style
	// Heading is the top line's screen name and the patient's name.
	Heading lipgloss.Style
	// Border draws the boxes' frames and titles.
	Border lipgloss.Style
	// Label is a field name in the stats panel.
	Label lipgloss.Style
	// Value is a field value in the stats panel.
	Value lipgloss.Style
	// Dim is secondary text: addresses, notes, empty states.
	Dim lipgloss.Style
	// Header is the waiting room's column headings.
	Header lipgloss.Style
	// Selected is the selected patient's row.
	Selected lipgloss.Style
	// Good, Warn and Bad colour call states, indicators and figures.
	Good, Warn, Bad lipgloss.Style
	// Graph is the sparklines' colour.
	Graph lipgloss.Style
	// Error is the error line.
	Error lipgloss.Style
	// Prompt is the confirmation line.
	Prompt lipgloss.Style
	// StatusBar is the bottom line.
	StatusBar lipgloss.Style
	// Help styles the help line and the help screen.
	Help help.Styles
	// Input styles the chat's one-line input.
	Input textinput.Styles
	// Notes styles the notes editor.
	Notes textarea.Styles
}

// Theme is which palette the console draws with.
type Theme int

const (
	// ThemeAuto asks the terminal for its background colour and picks the
	// light or the dark palette from its answer; until it answers, or if
	// it never does, the console draws with a palette that reads on both.
	ThemeAuto Theme = iota
	// ThemeLight is the palette for a light background.
	ThemeLight
	// ThemeDark is the palette for a dark background.
	ThemeDark
)

var themeNames = [...]string{"auto", "light", "dark"}

// String is the theme's name as --theme takes it.
func (t Theme) String() string {
	if t >= 0 && int(t) < len(themeNames) {
		return themeNames[t]
	}
	return fmt.Sprintf("Theme(%d)", int(t))
}

// ParseTheme reads a theme's name: auto, light or dark.
func ParseTheme(s string) (Theme, error) {
	for i, n := range themeNames {
		if strings.EqualFold(s, n) {
			return Theme(i), nil
		}
	}
	return ThemeAuto, fmt.Errorf("unknown theme %q: auto, light or dark", s)
}

// DefaultStyles returns the styles the console starts with before the
// terminal says what its background is: NeutralStyles.
func DefaultStyles() Styles { return NeutralStyles() }

// ThemeStyles returns the palette for a dark (true) or a light background.
// Every foreground keeps a contrast of 4.5:1 or more against the
// background it is drawn on: the style's own, or the terminal's (white to
// Solarized's cream for light, black to Solarized's dark blue for dark).
func ThemeStyles(dark bool) Styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, dark string) lipgloss.Style {
		return lipgloss.NewStyle().Foreground(ld(lipgloss.Color(light), lipgloss.Color(dark)))
	}
	on := func(fg, bg string) lipgloss.Style {
		return lipgloss.NewStyle().Foreground(lipgloss.Color(fg)).Background(lipgloss.Color(bg))
	}
	text := c("234", "255")
	muted := c("242", "246")
	key := c("25", "75")
	s := Styles{
		Title:     on("231", "25").Bold(true),
		Heading:   c("24", "230").Bold(true),
		Border:    muted,
		Label:     c("241", "247"),
		Value:     text,
		Dim:       muted,
		Header:    c("238", "250").Bold(true),
		Selected:  on("231", "24").Bold(true),
		Good:      c("22", "78"),
		Warn:      c("94", "214"),
		Bad:       c("160", "203").Bold(true),
		Graph:     c("25", "80"),
		Error:     on("231", "124").Bold(true),
		Prompt:    on("16", "214").Bold(true),
		StatusBar: c("235", "252").Background(ld(lipgloss.Color("254"), lipgloss.Color("236"))),
	}
	s.Help = helpStyles(key, c("240", "250"), muted)
	s.Input, s.Notes = inputStyles(text, c("241", "247"), muted)
	return s
}

// NeutralStyles is the palette for a terminal whose background is not
// known: the text in the terminal's own colour, and every colour either
// on a background of its own or of a middle lightness that keeps 4.5:1
// against both white and black.
func NeutralStyles() Styles {
	fg := func(c string) lipgloss.Style { return lipgloss.NewStyle().Foreground(lipgloss.Color(c)) }
	on := func(fg, bg string) lipgloss.Style {
		return lipgloss.NewStyle().Foreground(lipgloss.Color(fg)).Background(lipgloss.Color(bg))
	}
	text := lipgloss.NewStyle()
	mid := fg("243") // #767676: 4.5:1 on white, 4.6:1 on black
	s := Styles{
		Title:     on("231", "25").Bold(true),
		Heading:   lipgloss.NewStyle().Bold(true),
		Border:    mid,
		Label:     mid,
		Value:     text,
		Dim:       mid,
		Header:    lipgloss.NewStyle().Bold(true),
		Selected:  on("231", "24").Bold(true),
		Good:      fg("29"), // #00875f
		Warn:      on("16", "214"),
		Bad:       fg("131").Bold(true), // #af5f5f
		Graph:     fg("63"),             // #5f5fff
		Error:     on("231", "124").Bold(true),
		Prompt:    on("16", "214").Bold(true),
		StatusBar: on("252", "236"),
	}
	s.Help = helpStyles(lipgloss.NewStyle().Bold(true), text, mid)
	s.Input, s.Notes = inputStyles(text, mid, mid)
	return s
}

// PlainStyles is the console without colour, for NO_COLOR: the terminal's
// own colours, with bold and reverse video where colour marked something.
func PlainStyles() Styles {
	plain := lipgloss.NewStyle()
	bold := plain.Bold(true)
	rev := plain.Reverse(true)
	s := Styles{
		Title:     rev.Bold(true),
		Heading:   bold,
		Border:    plain,
		Label:     plain,
		Value:     plain,
		Dim:       plain,
		Header:    bold.Underline(true),
		Selected:  rev.Bold(true),
		Good:      plain,
		Warn:      bold,
		Bad:       bold.Underline(true),
		Graph:     plain,
		Error:     rev.Bold(true),
		Prompt:    rev.Bold(true),
		StatusBar: rev,
	}
	s.Help = helpStyles(bold, plain, plain)
	s.Input, s.Notes = inputStyles(plain, plain, plain)
	return s
}

func helpStyles(key, desc, sep lipgloss.Style) help.Styles {
	return help.Styles{
		Ellipsis:       sep,
		ShortKey:       key,
		ShortDesc:      desc,
		ShortSeparator: sep,
		FullKey:        key,
		FullDesc:       desc,
		FullSeparator:  sep,
	}
}

// inputStyles are the chat input's and the notes editor's: text as typed,
// the prompt, and the placeholder. The cursor is the terminal's own
// (reverse video); the notes' cursor line is not shaded, for a shade
// that reads on one background does not on the other.
func inputStyles(text, prompt, placeholder lipgloss.Style) (textinput.Styles, textarea.Styles) {
	in := textinput.DefaultDarkStyles()
	in.Focused = textinput.StyleState{Text: text, Prompt: prompt, Placeholder: placeholder, Suggestion: placeholder}
	in.Blurred = in.Focused
	in.Cursor.Color = text.GetForeground()
	in.Cursor.Blink = false
	ta := textarea.DefaultDarkStyles()
	ta.Focused = textarea.StyleState{
		Base: lipgloss.NewStyle(), Text: text, LineNumber: placeholder, CursorLineNumber: prompt,
		CursorLine: text, EndOfBuffer: placeholder, Placeholder: placeholder, Prompt: prompt,
		Selection: lipgloss.NewStyle().Reverse(true),
	}
	ta.Blurred = ta.Focused
	ta.Cursor.Color = text.GetForeground()
	ta.Cursor.Blink = false
	return in, ta
}

package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles holds every style the console draws with. Change a field of
// DefaultStyles to restyle the console; colours are picked from the 256
// colour palette, which is what the console is tuned for.
type Styles struct {
	// Title is the top line's application name.
	Title lipgloss.Style
	// Heading is the top line's screen name.
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
}

// DefaultStyles returns the console's default styles, for a dark terminal.
func DefaultStyles() Styles {
	c := lipgloss.Color
	h := help.DefaultDarkStyles()
	h.ShortKey = lipgloss.NewStyle().Foreground(c("75"))
	h.FullKey = h.ShortKey
	h.ShortDesc = lipgloss.NewStyle().Foreground(c("250"))
	h.FullDesc = h.ShortDesc
	return Styles{
		Title:     lipgloss.NewStyle().Bold(true).Foreground(c("230")).Background(c("25")),
		Heading:   lipgloss.NewStyle().Bold(true).Foreground(c("230")),
		Border:    lipgloss.NewStyle().Foreground(c("240")),
		Label:     lipgloss.NewStyle().Foreground(c("245")),
		Value:     lipgloss.NewStyle().Foreground(c("255")),
		Dim:       lipgloss.NewStyle().Foreground(c("244")),
		Header:    lipgloss.NewStyle().Bold(true).Foreground(c("250")),
		Selected:  lipgloss.NewStyle().Bold(true).Foreground(c("231")).Background(c("24")),
		Good:      lipgloss.NewStyle().Foreground(c("78")),
		Warn:      lipgloss.NewStyle().Foreground(c("214")),
		Bad:       lipgloss.NewStyle().Bold(true).Foreground(c("203")),
		Graph:     lipgloss.NewStyle().Foreground(c("80")),
		Error:     lipgloss.NewStyle().Bold(true).Foreground(c("231")).Background(c("124")),
		Prompt:    lipgloss.NewStyle().Bold(true).Foreground(c("16")).Background(c("214")),
		StatusBar: lipgloss.NewStyle().Foreground(c("252")).Background(c("236")),
		Help:      h,
	}
}

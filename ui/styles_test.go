package ui

import (
	"image/color"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"teleconsole/call"
)

// luminance is a colour's relative luminance (WCAG 2).
func luminance(c color.Color) float64 {
	r, g, b, _ := c.RGBA()
	lin := func(v uint32) float64 {
		s := float64(v) / 0xffff
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}

// contrast is the WCAG 2 contrast ratio of two colours, 1 to 21.
func contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

func rgb(r, g, b uint8) color.Color { return color.RGBA{r, g, b, 255} }

// The terminals' backgrounds each palette is held to: white, black and
// some of the common themes' near them.
var (
	lightBackgrounds = map[string]color.Color{
		"white":           rgb(0xff, 0xff, 0xff),
		"solarized light": rgb(0xfd, 0xf6, 0xe3),
		"light grey":      rgb(0xf2, 0xf2, 0xf2),
	}
	darkBackgrounds = map[string]color.Color{
		"black":          rgb(0, 0, 0),
		"vscode dark":    rgb(0x1e, 0x1e, 0x1e),
		"solarized dark": rgb(0x00, 0x2b, 0x36),
		"ubuntu":         rgb(0x30, 0x0a, 0x24),
	}
	bothBackgrounds = map[string]color.Color{
		"white": rgb(0xff, 0xff, 0xff),
		"black": rgb(0, 0, 0),
	}
)

// styleSpot is one style of a Styles value, by its field path, or one
// colour (a cursor's).
type styleSpot struct {
	path  string
	style lipgloss.Style
	color color.Color // set for a bare colour
}

// allStyles walks v (a Styles, or any struct of them) and returns every
// lipgloss.Style and color.Color it holds, however deep: a field added to
// Styles is checked without a change here.
func allStyles(path string, v reflect.Value) []styleSpot {
	styleType := reflect.TypeFor[lipgloss.Style]()
	colorType := reflect.TypeFor[color.Color]()
	switch {
	case v.Type() == styleType:
		return []styleSpot{{path: path, style: v.Interface().(lipgloss.Style)}}
	case v.Type() == colorType:
		if v.IsNil() {
			return nil
		}
		return []styleSpot{{path: path, color: v.Interface().(color.Color)}}
	case v.Kind() == reflect.Struct:
		var out []styleSpot
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			out = append(out, allStyles(path+"."+f.Name, v.Field(i))...)
		}
		return out
	}
	return nil
}

func isColor(c color.Color) bool {
	if c == nil {
		return false
	}
	_, none := c.(lipgloss.NoColor)
	return !none
}

// fixedColor fails unless c is one of the 256 colour palette's fixed
// colours (16 to 255) or a true colour: the first 16 are whatever the
// terminal's theme makes them.
func fixedColor(t *testing.T, what string, c color.Color) {
	t.Helper()
	switch c := c.(type) {
	case ansi.BasicColor:
		t.Errorf("%s: %v is one of the terminal's 16 colours, whose shade the terminal chooses", what, c)
	case ansi.IndexedColor:
		if c < 16 {
			t.Errorf("%s: %v is one of the terminal's 16 colours, whose shade the terminal chooses", what, c)
		}
	}
}

// checkPalette holds every foreground of st to 4.5:1 against what it is
// drawn on: its own background, or each of the terminal's in bgs. Text in
// the terminal's own colour on the terminal's own background is the
// terminal's choice.
func checkPalette(t *testing.T, st Styles, bgs map[string]color.Color) {
	spots := allStyles("Styles", reflect.ValueOf(st))
	if len(spots) < 40 {
		t.Fatalf("found %d styles in Styles: the walk missed some", len(spots))
	}
	for _, s := range spots {
		fg, bg := s.color, color.Color(nil)
		if s.color == nil {
			fg, bg = s.style.GetForeground(), s.style.GetBackground()
		}
		if isColor(bg) {
			fixedColor(t, s.path+" background", bg)
			if !isColor(fg) {
				t.Errorf("%s: a background of its own under the terminal's foreground, whose shade is unknown", s.path)
				continue
			}
			fixedColor(t, s.path, fg)
			if r := contrast(fg, bg); r < 4.5 {
				t.Errorf("%s: %v on %v is %.2f:1, under 4.5:1", s.path, fg, bg, r)
			}
			continue
		}
		if !isColor(fg) {
			continue
		}
		fixedColor(t, s.path, fg)
		for name, tb := range bgs {
			if r := contrast(fg, tb); r < 4.5 {
				t.Errorf("%s: %v on a %s background is %.2f:1, under 4.5:1", s.path, fg, name, r)
			}
		}
	}
}

// Every style of every palette reads at 4.5:1 (WCAG AA) or more on the
// backgrounds it is for.
func TestPaletteContrast(t *testing.T) {
	t.Run("light", func(t *testing.T) { checkPalette(t, ThemeStyles(false), lightBackgrounds) })
	t.Run("dark", func(t *testing.T) { checkPalette(t, ThemeStyles(true), darkBackgrounds) })
	t.Run("neutral", func(t *testing.T) { checkPalette(t, NeutralStyles(), bothBackgrounds) })
}

// The checks above do fail: the console's former palette, tuned for a dark
// background, had its patient's name and figures unreadable on white.
func TestPaletteContrastCatchesPaleText(t *testing.T) {
	pale := lipgloss.NewStyle().Foreground(lipgloss.Color("230")) // the former Heading
	if r := contrast(pale.GetForeground(), lightBackgrounds["white"]); r >= 4.5 {
		t.Fatalf("colour 230 on white at %.2f:1: the contrast measure is wrong", r)
	}
	// xterm's 243 is #767676, 4.54:1 on white (WCAG's own example grey).
	if r := contrast(lipgloss.Color("243"), lightBackgrounds["white"]); math.Abs(r-4.54) > 0.01 {
		t.Fatalf("#767676 on white at %.3f:1, want 4.54", r)
	}
}

// Without colour (NO_COLOR) no style sets one; what colour marked is
// marked in reverse video or bold.
func TestPlainPaletteHasNoColour(t *testing.T) {
	st := PlainStyles()
	for _, s := range allStyles("Styles", reflect.ValueOf(st)) {
		if s.color != nil && isColor(s.color) {
			t.Errorf("%s: colour %v", s.path, s.color)
		}
		if isColor(s.style.GetForeground()) || isColor(s.style.GetBackground()) {
			t.Errorf("%s: colours %v on %v", s.path, s.style.GetForeground(), s.style.GetBackground())
		}
	}
	if !st.Selected.GetReverse() || !st.Error.GetReverse() || !st.StatusBar.GetReverse() {
		t.Error("the selected row, the error line and the status bar are not marked without colour")
	}
}

// asked reports whether cmd asks the terminal for its background colour.
func asked(t *testing.T, cmd tea.Cmd) bool {
	for _, msg := range run(t, cmd) {
		if msg == tea.RequestBackgroundColor() {
			return true
		}
	}
	return false
}

// The palette follows the terminal's answer, unless --theme or NO_COLOR
// said otherwise, and every screen draws with the one in force.
func TestPaletteChosen(t *testing.T) {
	white := tea.BackgroundColorMsg{Color: rgb(0xff, 0xff, 0xff)}
	black := tea.BackgroundColorMsg{Color: rgb(0, 0, 0)}
	light, dark := ThemeStyles(false), ThemeStyles(true)
	for _, tc := range []struct {
		name   string
		opts   []Option
		answer tea.Msg // nil: no answer
		ask    bool
		want   Styles
	}{
		{"auto, light answer", nil, white, true, light},
		{"auto, dark answer", nil, black, true, dark},
		{"auto, no answer", nil, nil, true, NeutralStyles()},
		{"light over a dark answer", []Option{WithTheme(ThemeLight)}, black, false, light},
		{"dark over a light answer", []Option{WithTheme(ThemeDark)}, white, false, dark},
		{"NO_COLOR", []Option{WithNoColor(true)}, white, false, PlainStyles()},
		{"NO_COLOR over a theme", []Option{WithTheme(ThemeDark), WithNoColor(true)}, black, false, PlainStyles()},
		{"the caller's styles", []Option{WithStyles(light)}, black, false, light},
		{"16 colours", nil, tea.ColorProfileMsg{Profile: colorprofile.ANSI}, true, PlainStyles()},
		{"256 colours, light answer", nil, tea.BatchMsg{func() tea.Msg { return tea.ColorProfileMsg{Profile: colorprofile.ANSI256} }, func() tea.Msg { return white }}, true, light},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(&recorder{}, make(chan call.Event))
			m := New(f, Info{}, append([]Option{WithClock(func() time.Time { return testNow }), WithDay(aDay())}, tc.opts...)...)
			if got := asked(t, m.Init()); got != tc.ask {
				t.Errorf("asked the terminal's background: %v, want %v", got, tc.ask)
			}
			if b, ok := tc.answer.(tea.BatchMsg); ok {
				for _, c := range b {
					m, _ = update(t, m, c())
				}
			} else if tc.answer != nil {
				m, _ = update(t, m, tc.answer)
			}
			same := func(where string, got Styles) {
				t.Helper()
				if !reflect.DeepEqual(got.Heading, tc.want.Heading) || !reflect.DeepEqual(got.Dim, tc.want.Dim) || !reflect.DeepEqual(got.Input, tc.want.Input) {
					t.Errorf("%s draws with another palette: heading %v, want %v", where, got.Heading.GetForeground(), tc.want.Heading.GetForeground())
				}
			}
			same("the console", m.styles)
			same("the waiting room", m.waiting.styles)
			same("the call screen", m.call.styles)
			same("the chat", m.chat.styles)
			same("the history", m.history.styles)
			same("the help screen", m.help.styles)
			same("the day", m.day.styles)
			if !reflect.DeepEqual(m.help.help.Styles, tc.want.Help) {
				t.Error("the help line draws with another palette")
			}
			if !reflect.DeepEqual(m.chat.input.Styles(), tc.want.Input) {
				t.Error("the chat input draws with another palette")
			}
		})
	}
}

func TestParseTheme(t *testing.T) {
	for _, s := range []string{"auto", "light", "dark", "LIGHT"} {
		th, err := ParseTheme(s)
		if err != nil || !strings.EqualFold(th.String(), s) {
			t.Errorf("%q: %v, %v", s, th, err)
		}
	}
	if _, err := ParseTheme("solarized"); err == nil || !strings.Contains(err.Error(), "light") {
		t.Errorf("solarized: %v, want an error listing the themes", err)
	}
}

// No speaker to play on is said calmly, in the dim colour; a device that
// failed is a warning.
func TestNoSpeakerSaidCalmly(t *testing.T) {
	m := inCall(t, &recorder{}, 120, 40, WithTheme(ThemeLight))
	s := connectedStats(1)
	s.Remark = call.NoSpeakerRemark
	m, _ = update(t, m, eventMsg{call.StatsEvent{Peer: "asha.rao@sbx", Stats: s}})
	body := m.call.statsBody(46)
	if !strings.Contains(body, m.styles.Dim.Render(call.NoSpeakerRemark)) {
		t.Errorf("the remark is not in the dim colour:\n%q", body)
	}
	s.Note, s.Remark = "speaker lost: the patient on the meter only", ""
	m, _ = update(t, m, eventMsg{call.StatsEvent{Peer: "asha.rao@sbx", Stats: s}})
	if body := m.call.statsBody(46); !strings.Contains(body, m.styles.Warn.Render(s.Note)) {
		t.Errorf("the failure is not a warning:\n%q", body)
	}
}

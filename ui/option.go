package ui

import "time"

// Option configures a Model in New.
type Option func(*Model)

// WithClock sets the clock for "time waiting" and call durations; the
// default is time.Now. Tests inject a fixed clock so views are repeatable.
func WithClock(now func() time.Time) Option {
	return func(m *Model) {
		if now != nil {
			m.clock = now
		}
	}
}

// WithKeyMap replaces the default key bindings.
func WithKeyMap(k KeyMap) Option {
	return func(m *Model) { m.keys = k }
}

// WithStyles replaces the palette: the console then draws with s whatever
// the terminal's background.
func WithStyles(s Styles) Option {
	return func(m *Model) { m.styles, m.styled = s, true }
}

// WithTheme sets the palette: ThemeAuto (the default) asks the terminal for
// its background colour, ThemeLight and ThemeDark say it.
func WithTheme(t Theme) Option {
	return func(m *Model) { m.theme = t }
}

// WithNoColor draws in the terminal's own colours only, with bold and
// reverse video for what colour marks (NO_COLOR, https://no-color.org).
func WithNoColor(on bool) Option {
	return func(m *Model) { m.noColor = on }
}

// WithPollInterval sets how often the waiting room is read; the default is
// one second. Values under 100 ms are raised to 100 ms.
func WithPollInterval(d time.Duration) Option {
	return func(m *Model) { m.poll = max(d, 100*time.Millisecond) }
}

// WithVideoFPS sets how many times a second the patient's video is sampled
// and redrawn, from 1 to 10 (the default, and the ceiling: more costs bytes
// on the terminal link without helping a consultation).
func WithVideoFPS(fps int) Option {
	return func(m *Model) {
		fps = min(10, max(1, fps))
		m.videoEvery = time.Second / time.Duration(fps)
	}
}

// WithVideoHidden starts every call with the patient's video hidden, for
// slow terminal links; v still shows it.
func WithVideoHidden() Option {
	return func(m *Model) { m.videoDefault = false }
}

// WithReturnDelay sets how long an ended call stays on screen before the
// waiting room comes back by itself; the default is 5 s, long enough to read
// how the call ended. Zero or less turns the return off: the doctor presses
// Back. Back returns at once in either case.
func WithReturnDelay(d time.Duration) Option {
	return func(m *Model) { m.returnAfter = max(0, d) }
}

// WithGraphics sets how the patient's picture is drawn; the default,
// GraphicsAuto, asks the terminal (probe.go).
func WithGraphics(g Graphics) Option {
	return func(m *Model) { m.graphics = g }
}

// WithTerminal tells the model what the environment says of its terminal.
func WithTerminal(t Terminal) Option {
	return func(m *Model) { m.term = t }
}

// WithVideoBudget sets how many bytes a second pictures may take on a
// remote terminal (Terminal.Remote); 0 sets no budget. The default is
// 200 KB/s.
func WithVideoBudget(bytesPerSecond int) Option {
	return func(m *Model) { m.budget = max(0, bytesPerSecond) }
}

// WithSnapshotDir sets the directory snapshots are saved in; without one,
// the snapshot key is off.
func WithSnapshotDir(dir string) Option {
	return func(m *Model) { m.snapDir = dir }
}

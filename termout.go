package main

import (
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"teleconsole/ui"
)

// termOut is the terminal as Bubble Tea writes to it, with a flag raised
// while a write is under way: the call screen drops a picture rather than
// queue it behind a write the terminal has not taken yet (a slow SSH link),
// so keys and the screen stay responsive. It is still the *os.File Bubble
// Tea needs to put the terminal in raw mode and read its size.
type termOut struct {
	*os.File
	writing atomic.Bool
	written atomic.Uint64 // bytes written in all, for the video budget
}

func (t *termOut) Write(p []byte) (int, error) {
	t.writing.Store(true)
	defer t.writing.Store(false)
	n, err := t.File.Write(p)
	t.written.Add(uint64(n))
	return n, err
}

// terminalHints describes the console's terminal from the environment, for the
// video surface: the terminal's own answers override these hints.
func terminalHints(out *termOut, getenv func(string) string) ui.Terminal {
	return ui.Terminal{
		Program: getenv("TERM_PROGRAM"),
		Tmux:    getenv("TMUX") != "",
		Remote:  getenv("SSH_CONNECTION") != "" || getenv("SSH_TTY") != "",
		Busy:    out.writing.Load,
		Written: out.written.Load,
		CellSize: func() (int, int, bool) {
			ws, err := unix.IoctlGetWinsize(int(out.Fd()), unix.TIOCGWINSZ)
			if err != nil || ws.Col == 0 || ws.Row == 0 || ws.Xpixel == 0 || ws.Ypixel == 0 {
				return 0, 0, false
			}
			return int(ws.Xpixel / ws.Col), int(ws.Ypixel / ws.Row), true
		},
	}
}

// graphicsFlag is --video.
type graphicsFlag struct{ g *ui.Graphics }

func (f graphicsFlag) String() string {
	if f.g == nil {
		return ui.GraphicsAuto.String()
	}
	return f.g.String()
}

func (f graphicsFlag) Set(s string) error {
	g, err := ui.ParseGraphics(s)
	if err != nil {
		return err
	}
	*f.g = g
	return nil
}

// themeFlag is --theme.
type themeFlag struct{ t *ui.Theme }

func (f themeFlag) String() string {
	if f.t == nil {
		return ui.ThemeAuto.String()
	}
	return f.t.String()
}

func (f themeFlag) Set(s string) error {
	t, err := ui.ParseTheme(s)
	if err != nil {
		return err
	}
	*f.t = t
	return nil
}

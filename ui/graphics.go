package ui

import (
	"fmt"
	"strings"
)

// Graphics is how the patient's picture is drawn on the terminal: in real
// pixels through one of three image protocols, in half-block characters, or
// not at all.
type Graphics int

const (
	// GraphicsAuto asks the terminal what it can show (see probe.go).
	GraphicsAuto Graphics = iota
	// GraphicsOff draws no picture; the panel says the video is off.
	GraphicsOff
	// GraphicsBlocks draws half-block characters in the 256-colour
	// palette: every terminal shows them.
	GraphicsBlocks
	// GraphicsSixel draws DEC sixel images (xterm -ti vt340, foot,
	// WezTerm, Konsole, mlterm, Windows Terminal, tmux built with sixel).
	GraphicsSixel
	// GraphicsITerm2 draws iTerm2 inline JPEG images (iTerm2, WezTerm,
	// VS Code's terminal).
	GraphicsITerm2
	// GraphicsKitty draws with the kitty graphics protocol, the picture
	// placed through Unicode placeholder cells that Bubble Tea owns
	// (kitty, Ghostty).
	GraphicsKitty
)

var graphicsNames = [...]string{"auto", "off", "blocks", "sixel", "iterm2", "kitty"}

// String is the mode's name as --video takes it.
func (g Graphics) String() string {
	if g >= 0 && int(g) < len(graphicsNames) {
		return graphicsNames[g]
	}
	return fmt.Sprintf("graphics(%d)", int(g))
}

// ParseGraphics turns a --video value into a Graphics.
func ParseGraphics(s string) (Graphics, error) {
	for i, n := range graphicsNames {
		if strings.EqualFold(s, n) {
			return Graphics(i), nil
		}
	}
	return GraphicsAuto, fmt.Errorf("--video %q: want %s", s, strings.Join(graphicsNames[:], ", "))
}

// pixels reports whether the mode draws real pixels.
func (g Graphics) pixels() bool {
	return g == GraphicsSixel || g == GraphicsITerm2 || g == GraphicsKitty
}

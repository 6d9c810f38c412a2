package ui

import (
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
)

// Terminal is what the console knows of its terminal before asking it:
// hints from the environment, which the terminal's own answers override.
type Terminal struct {
	// Program is $TERM_PROGRAM (iTerm.app, WezTerm, vscode, ...).
	Program string
	// Tmux says the console runs inside tmux ($TMUX): image sequences
	// are wrapped for its passthrough, and the kitty query too.
	Tmux bool
	// Remote says the terminal is at the far end of an SSH session
	// ($SSH_CONNECTION or $SSH_TTY): pictures keep to the video budget.
	Remote bool
	// CellSize returns the cell's size in pixels from the terminal's
	// window size (TIOCGWINSZ), or false when it does not say.
	CellSize func() (w, h int, ok bool)
	// Busy reports that the terminal has not yet taken the last write: a
	// picture then is dropped rather than queued.
	Busy func() bool
	// Written returns how many bytes have been written to the terminal in
	// all: a budget is charged for the screen's text as well as for the
	// pictures. Without it only the pictures are counted.
	Written func() uint64
}

// requestCellSize is the XTWINOPS operation that asks for the cell size in
// pixels (CSI 16 t).
const requestCellSize = 16

// probeQueryID is the id of the kitty graphics query: a terminal that
// speaks the protocol answers it, before it answers DA1.
const probeQueryID = 31

// probeTimeout bounds the wait for the terminal's answers. The waiting room
// shows at once in any case; until the answers come, or this long, the
// picture is drawn in half blocks.
const probeTimeout = time.Second

// The cell size used when the terminal tells none: a common one, that of
// xterm's 10x20 font.
const defaultCellW, defaultCellH = 10, 20

// probe is what the terminal has said of itself.
type probe struct {
	kitty   bool   // answered the kitty graphics query
	sixel   bool   // DA1 lists attribute 4
	version string // XTVERSION's answer
	done    bool   // DA1 answered, or the time is up
}

type probeTimeoutMsg struct{}

// cellSizeMsg carries the cell size read from the window size.
type cellSizeMsg struct{ w, h int }

// probeCmd asks the terminal, in one write, whether it speaks the kitty
// graphics protocol (a one-pixel query image, answered only by terminals
// that do), its name and version (XTVERSION), its cell size in pixels
// (CSI 16 t) and its primary device attributes (DA1), which every terminal
// answers last: after DA1's answer no other answer is coming.
func probeCmd(t Terminal) tea.Cmd {
	q := ansi.KittyGraphics([]byte("AAAA"), "i="+strconv.Itoa(probeQueryID), "s=1", "v=1", "a=q", "t=d", "f=24")
	if t.Tmux {
		q = ansi.TmuxPassthrough(q)
	}
	query := q + ansi.RequestNameVersion + ansi.WindowOp(requestCellSize) + ansi.RequestPrimaryDeviceAttributes
	return tea.Batch(tea.Raw(query), tea.Tick(probeTimeout, func(time.Time) tea.Msg { return probeTimeoutMsg{} }))
}

// cellSizeCmd reads the cell size from the window size, when Terminal can.
func cellSizeCmd(t Terminal) tea.Cmd {
	if t.CellSize == nil {
		return nil
	}
	return func() tea.Msg {
		if w, h, ok := t.CellSize(); ok && w > 0 && h > 0 {
			return cellSizeMsg{w, h}
		}
		return nil
	}
}

// handle records an answer; it reports whether msg was one.
func (p *probe) handle(msg tea.Msg) bool {
	switch msg := msg.(type) {
	case uv.KittyGraphicsEvent:
		if msg.Options.ID == probeQueryID && string(msg.Payload) == "OK" {
			p.kitty = true
		}
	case tea.TerminalVersionMsg:
		p.version = msg.Name
	case uv.PrimaryDeviceAttributesEvent:
		p.sixel = slices.Contains([]int(msg), 4)
		p.done = true
	case probeTimeoutMsg:
		p.done = true
	default:
		return false
	}
	return true
}

// decide picks the best way to draw the picture: kitty graphics, iTerm2
// inline images, sixel, then half blocks. The terminal's answers decide;
// $TERM_PROGRAM only names iTerm2 and WezTerm, whose inline images need no
// query.
func (p probe) decide(t Terminal) Graphics {
	name := strings.ToLower(p.version)
	inline := strings.Contains(name, "iterm2") || strings.Contains(name, "wezterm") ||
		t.Program == "iTerm.app" || t.Program == "WezTerm"
	switch {
	case p.kitty:
		return GraphicsKitty
	case inline:
		return GraphicsITerm2
	case p.sixel:
		return GraphicsSixel
	default:
		return GraphicsBlocks
	}
}

// direct reports whether kitty pictures are placed at the cursor rather
// than through Unicode placeholders: WezTerm and Konsole answer the kitty
// query but draw no placeholders.
func (p probe) direct() bool {
	name := strings.ToLower(p.version)
	return strings.Contains(name, "wezterm") || strings.Contains(name, "konsole")
}

// cellFromEvent returns the cell size a CSI 16 t answer gives.
func cellFromEvent(msg tea.Msg) (w, h int, ok bool) {
	if e, isCell := msg.(uv.CellSizeEvent); isCell && e.Width > 0 && e.Height > 0 {
		return e.Width, e.Height, true
	}
	return 0, 0, false
}

package ui

import (
	"bytes"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/kitty"
	"github.com/charmbracelet/x/vt"

	"teleconsole/call"
)

// emulated is the console's program writing to an in-process terminal
// emulator (x/vt), with the image sequences it receives recorded.
type emulated struct {
	t     *testing.T
	emuMu sync.Mutex // the emulator is written by the program and read by the test
	emu   *vt.Emulator
	prog  *tea.Program
	fake  *liveFake
	done  chan error

	mu      sync.Mutex
	sixels  []uv.Position // where the cursor was at each sixel image
	kitty   []string      // the control data of each kitty graphics command
	kittyAt []uv.Position // and where the cursor was
}

// Write feeds the program's output to the emulator, each line feed as a
// carriage return and a line feed, as a terminal device does (the ONLCR
// output mode) between Bubble Tea and a real terminal: Bubble Tea's
// renderer moves to the next line's start with "\n".
func (e *emulated) Write(p []byte) (int, error) {
	e.emuMu.Lock()
	defer e.emuMu.Unlock()
	if _, err := e.emu.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// cell returns a copy of the emulator's cell at (x, y).
func (e *emulated) cell(x, y int) uv.Cell {
	e.emuMu.Lock()
	defer e.emuMu.Unlock()
	if c := e.emu.CellAt(x, y); c != nil {
		return *c
	}
	return uv.Cell{}
}

func startEmulated(t *testing.T, g Graphics, w, h int, opts ...Option) *emulated {
	t.Helper()
	e := &emulated{t: t, emu: vt.NewEmulator(w, h), fake: newLiveFake(false), done: make(chan error, 1)}
	// The emulator answers queries into a pipe that must be drained (it is
	// never closed: Close would race with the reader in x/vt v0.1.0).
	go func() { _, _ = io.Copy(io.Discard, e.emu) }()
	e.emu.RegisterDcsHandler('q', func(_ ansi.Params, _ []byte) bool {
		e.mu.Lock()
		e.sixels = append(e.sixels, e.emu.CursorPosition())
		e.mu.Unlock()
		return true
	})
	e.emu.RegisterApcHandler(func(data []byte) bool {
		if len(data) > 0 && data[0] == 'G' {
			ctl, _, _ := strings.Cut(string(data[1:]), ";")
			e.mu.Lock()
			e.kitty = append(e.kitty, ctl)
			e.kittyAt = append(e.kittyAt, e.emu.CursorPosition())
			e.mu.Unlock()
		}
		return true
	})
	term := Terminal{CellSize: func() (int, int, bool) { return 10, 20, true }}
	m := New(e.fake, Info{Endpoint: "127.0.0.1:8080", Doctor: "dr.kavya@hpr", Verify: "signatures verified", Media: "synthetic"},
		append([]Option{WithGraphics(g), WithTerminal(term)}, opts...)...)
	e.prog = tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(e), tea.WithWindowSize(w, h),
		tea.WithColorProfile(colorprofile.ANSI256), tea.WithoutSignals())
	go func() {
		_, err := e.prog.Run()
		e.done <- err
	}()
	t.Cleanup(func() {
		e.prog.Quit()
		if err := <-e.done; err != nil {
			t.Errorf("program: %v", err)
		}
		e.fake.close()
	})
	return e
}

// lines returns the emulator's screen as plain text, one string per row.
func (e *emulated) lines() []string {
	e.emuMu.Lock()
	defer e.emuMu.Unlock()
	w, h := e.emu.Width(), e.emu.Height()
	out := make([]string, h)
	for y := range h {
		var b strings.Builder
		for x := 0; x < w; x++ {
			c := e.emu.CellAt(x, y)
			if c == nil || c.Content == "" {
				if c != nil && c.Width == 0 {
					continue // the tail of a wide cell
				}
				b.WriteByte(' ')
				continue
			}
			b.WriteString(c.Content)
		}
		out[y] = b.String()
	}
	return out
}

// waitFor polls cond for up to d.
func (e *emulated) waitFor(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("never %s; screen:\n%s", what, strings.Join(e.lines(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *emulated) sixelCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sixels)
}

func (e *emulated) kittyCommands() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.kitty...)
}

func (e *emulated) shows(s string) func() bool {
	return func() bool { return strings.Contains(strings.Join(e.lines(), "\n"), s) }
}

func (e *emulated) call() {
	e.t.Helper()
	e.waitFor("showed the waiting room with the patient", 5*time.Second, e.shows("Asha Rao"))
	e.prog.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	e.waitFor("connected", 5*time.Second, e.shows("Connected"))
	e.waitFor("showed the first stats", 5*time.Second, e.shows("RTT"))
}

// checkCallText checks the call screen's text around the picture.
func (e *emulated) checkCallText(mode string) {
	e.t.Helper()
	l := e.lines()
	want := map[int]string{0: "teleconsole", 1: "Connected", 3: "┌─ Patient video", len(l) - 1: "video " + mode}
	for row, s := range want {
		if !strings.Contains(l[row], s) {
			e.t.Errorf("row %d lost %q:\n%s", row, s, strings.Join(l, "\n"))
		}
	}
	if !strings.Contains(l[3], "Network") || !strings.Contains(strings.Join(l[4:8], "\n"), "RTT") {
		e.t.Errorf("the stats panel is not intact beside the picture:\n%s", strings.Join(l, "\n"))
	}
	// The Patient video box keeps its edges on every row.
	for row := 4; row < len(l)-6; row++ {
		if r := []rune(l[row]); len(r) == 0 || r[0] != '│' {
			e.t.Errorf("row %d lost the video box's left edge: %q", row, l[row])
		}
	}
}

func TestSixelOnTerminal(t *testing.T) {
	e := startEmulated(t, GraphicsSixel, 120, 40)
	e.call()
	e.waitFor("drew three sixel pictures", 5*time.Second, func() bool { return e.sixelCount() >= 3 })
	e.checkCallText("sixel")

	// Every picture is drawn at the placement's top-left cell: inside the
	// video box (row 4 on, column 1 on), centred, the same each time.
	e.mu.Lock()
	at := append([]uv.Position(nil), e.sixels...)
	e.mu.Unlock()
	for _, p := range at {
		if p != at[0] {
			t.Fatalf("pictures drawn at %v and %v", at[0], p)
		}
	}
	if at[0].Y < 4 || at[0].X < 1 || at[0].X > 20 {
		t.Errorf("picture drawn at %v, want inside the video box", at[0])
	}
	// Bubble Tea's cursor is where it left it: the text written after the
	// pictures lands where it belongs (checkCallText), and the clock goes
	// on ticking in its place on row 1.
	time.Sleep(1100 * time.Millisecond)
	e.checkCallText("sixel")

	// Help covers the call screen: no picture is drawn over it.
	e.prog.Send(tea.KeyPressMsg{Code: '?', Text: "?"})
	e.waitFor("showed help", 2*time.Second, e.shows("Keys for this screen"))
	n := e.sixelCount()
	time.Sleep(500 * time.Millisecond)
	if got := e.sixelCount(); got != n {
		t.Errorf("%d pictures drawn over the help screen", got-n)
	}
	e.prog.Send(tea.KeyPressMsg{Code: '?', Text: "?"})
	e.waitFor("drew pictures again after help", 3*time.Second, func() bool { return e.sixelCount() > n })
	e.checkCallText("sixel")
}

func TestKittyOnTerminal(t *testing.T) {
	e := startEmulated(t, GraphicsKitty, 120, 40)
	e.call()
	e.waitFor("sent a kitty picture", 5*time.Second, func() bool {
		for _, c := range e.kittyCommands() {
			if strings.Contains(c, "a=T") {
				return true
			}
		}
		return false
	})
	e.checkCallText("kitty")

	// The picture's cells are the image's placeholders, row and column in
	// their diacritics and the image id in their colour.
	placeholders := func() (n int, first uv.Position, bad string) {
		for y := range 40 {
			for x := range 120 {
				c := e.cell(x, y)
				if !strings.HasPrefix(c.Content, string(kitty.Placeholder)) {
					continue
				}
				if n == 0 {
					first = uv.Pos(x, y)
				}
				r := []rune(c.Content)
				if len(r) != 3 || r[1] != kitty.Diacritic(y-first.Y) || r[2] != kitty.Diacritic(x-first.X) {
					bad = c.Content
				}
				if c.Style.Fg != ansi.IndexedColor(kittyImageID) {
					bad = "colour"
				}
				n++
			}
		}
		return n, first, bad
	}
	n, first, bad := placeholders()
	if n == 0 || bad != "" {
		t.Fatalf("%d placeholder cells from %v; wrong one: %q", n, first, bad)
	}
	if first.Y < 4 || first.X < 1 {
		t.Errorf("placeholders start at %v, want inside the video box", first)
	}

	// The call ends: the cells go, and the image is deleted.
	e.fake.events <- call.StateEvent{Peer: "asha.rao@sbx", State: call.StateEnded, Reason: call.EndHangup}
	e.waitFor("removed the placeholders", 3*time.Second, func() bool { n, _, _ := placeholders(); return n == 0 })
	e.waitFor("deleted the image", 3*time.Second, func() bool {
		cs := e.kittyCommands()
		return len(cs) > 0 && strings.Contains(cs[len(cs)-1], "a=d")
	})
}

// A terminal that answers the kitty query but draws no placeholders
// (WezTerm, Konsole) gets the picture placed at the cursor over blank
// cells, and deleted when it goes.
func TestKittyDirectOnTerminal(t *testing.T) {
	e := startEmulated(t, GraphicsAuto, 120, 40)
	for _, answer := range []tea.Msg{
		uv.KittyGraphicsEvent{Options: kitty.Options{ID: probeQueryID}, Payload: []byte("OK")},
		tea.TerminalVersionMsg{Name: "WezTerm 20240203-110809-5046fc22"},
		uv.PrimaryDeviceAttributesEvent{65, 4, 6, 18, 22},
	} {
		e.prog.Send(answer)
	}
	e.waitFor("said kitty in the status bar", 3*time.Second, e.shows("video kitty"))
	e.call()
	first := -1
	e.waitFor("placed a kitty picture", 5*time.Second, func() bool {
		for i, c := range e.kittyCommands() {
			if strings.Contains(c, "a=T") {
				first = i
				return true
			}
		}
		return false
	})
	e.checkCallText("kitty")
	e.mu.Lock()
	ctl, at := e.kitty[first], e.kittyAt[first]
	e.mu.Unlock()
	for _, want := range []string{"C=1", "p=1", "i=42"} {
		if !strings.Contains(","+ctl+",", ","+want+",") {
			t.Errorf("placement %q lacks %s", ctl, want)
		}
	}
	if strings.Contains(ctl, "U=1") {
		t.Errorf("placement %q is virtual, for placeholders the terminal does not draw", ctl)
	}
	if at.Y < 4 || at.X < 1 {
		t.Errorf("picture placed at %v, want inside the video box", at)
	}
	for y := range 40 {
		for x := range 120 {
			if c := e.cell(x, y); strings.HasPrefix(c.Content, string(kitty.Placeholder)) {
				t.Fatalf("placeholder cell at (%d,%d)", x, y)
			}
		}
	}
	// Help covers it: the placement is deleted, and none is made while help is up.
	e.prog.Send(tea.KeyPressMsg{Code: '?', Text: "?"})
	e.waitFor("deleted the picture under help", 3*time.Second, func() bool {
		cs := e.kittyCommands()
		return strings.Contains(cs[len(cs)-1], "a=d")
	})
	n := len(e.kittyCommands())
	time.Sleep(500 * time.Millisecond)
	for _, c := range e.kittyCommands()[n:] {
		if strings.Contains(c, "a=T") {
			t.Errorf("a picture placed over help: %q", c)
		}
	}
}

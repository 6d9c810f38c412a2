package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi/kitty"

	"teleconsole/call"
)

func TestProbeDecides(t *testing.T) {
	kittyOK := uv.KittyGraphicsEvent{Options: kitty.Options{ID: probeQueryID}, Payload: []byte("OK")}
	for _, tc := range []struct {
		name    string
		answers []tea.Msg
		term    Terminal
		want    Graphics
	}{
		{"kitty", []tea.Msg{kittyOK, tea.TerminalVersionMsg{Name: "kitty(0.39.1)"}, uv.PrimaryDeviceAttributesEvent{62, 22}}, Terminal{}, GraphicsKitty},
		{"kitty error reply", []tea.Msg{uv.KittyGraphicsEvent{Options: kitty.Options{ID: probeQueryID}, Payload: []byte("ENOTSUPPORTED")}, uv.PrimaryDeviceAttributesEvent{62, 4}}, Terminal{}, GraphicsSixel},
		{"another image's reply", []tea.Msg{uv.KittyGraphicsEvent{Options: kitty.Options{ID: 7}, Payload: []byte("OK")}, uv.PrimaryDeviceAttributesEvent{62}}, Terminal{}, GraphicsBlocks},
		{"xterm vt340", []tea.Msg{tea.TerminalVersionMsg{Name: "XTerm(379)"}, uv.PrimaryDeviceAttributesEvent{63, 1, 2, 4, 6, 9, 15, 22}}, Terminal{}, GraphicsSixel},
		{"wezterm: kitty without placeholders", []tea.Msg{kittyOK, tea.TerminalVersionMsg{Name: "WezTerm 20240203"}, uv.PrimaryDeviceAttributesEvent{65, 4, 6}}, Terminal{}, GraphicsKitty},
		{"konsole: kitty without placeholders", []tea.Msg{kittyOK, tea.TerminalVersionMsg{Name: "Konsole 24.02"}, uv.PrimaryDeviceAttributesEvent{62, 4}}, Terminal{}, GraphicsKitty},
		{"iterm2 by its name", []tea.Msg{uv.PrimaryDeviceAttributesEvent{62, 4}}, Terminal{Program: "iTerm.app"}, GraphicsITerm2},
		{"no answer but DA1", []tea.Msg{uv.PrimaryDeviceAttributesEvent{1, 2}}, Terminal{}, GraphicsBlocks},
		{"no answer at all", []tea.Msg{probeTimeoutMsg{}}, Terminal{}, GraphicsBlocks},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p probe
			for _, a := range tc.answers {
				if !p.handle(a) {
					t.Fatalf("%T not taken as an answer", a)
				}
			}
			if !p.done {
				t.Fatal("probe not done after DA1 or the timeout")
			}
			if got := p.decide(tc.term); got != tc.want {
				t.Errorf("decided %v, want %v", got, tc.want)
			}
			if want := strings.Contains(tc.name, "without placeholders"); p.direct() != want {
				t.Errorf("direct placement %v, want %v", p.direct(), want)
			}
		})
	}
}

// The model draws half blocks until the terminal answers, then what it
// answered, and says so in the status bar.
func TestProbeSwitchesTheModel(t *testing.T) {
	m := New(newFake(&recorder{}, make(chan call.Event)), Info{Media: "synthetic"}, WithClock(func() time.Time { return testNow }))
	if m.inForce != GraphicsBlocks || !strings.Contains(m.statusBar(), "video blocks") {
		t.Fatalf("before any answer: %v, %q", m.inForce, m.statusBar())
	}
	m, _ = update(t, m, uv.KittyGraphicsEvent{Options: kitty.Options{ID: probeQueryID}, Payload: []byte("OK")})
	m, _ = update(t, m, uv.PrimaryDeviceAttributesEvent{62, 4})
	if m.inForce != GraphicsKitty || !strings.Contains(m.statusBar(), "video kitty") {
		t.Fatalf("after kitty's answer: %v, %q", m.inForce, m.statusBar())
	}
	// A late DA1 (of another query) changes nothing.
	m, _ = update(t, m, uv.PrimaryDeviceAttributesEvent{62})
	if m.inForce != GraphicsKitty {
		t.Fatalf("a second DA1 changed the mode to %v", m.inForce)
	}
}

func TestParseGraphics(t *testing.T) {
	for _, s := range []string{"auto", "off", "blocks", "sixel", "iterm2", "kitty", "SIXEL"} {
		g, err := ParseGraphics(s)
		if err != nil || !strings.EqualFold(g.String(), s) {
			t.Errorf("%q: %v, %v", s, g, err)
		}
	}
	if _, err := ParseGraphics("png"); err == nil || !strings.Contains(err.Error(), "kitty") {
		t.Errorf("png: %v, want an error listing the modes", err)
	}
}

// Over SSH the pictures keep to the budget: a frame that would overdraw
// it is dropped, and a picture too big for two a second is made smaller.
func TestPictureBudget(t *testing.T) {
	var written uint64
	p := newPicture(GraphicsSixel, false, false, 10, 20, 100_000, nil, func() uint64 { return written })
	p.surf.place(320, 240, 1, 4, 60, 20, 2)
	p.settle = false
	pic := testPicture()
	now := testNow
	sent, total := 0, 0
	for range 100 { // ten seconds at ten samples a second
		now = now.Add(100 * time.Millisecond)
		out := p.frame(pic, now)
		written += uint64(len(out)) + 500 // and the screen's text
		if out != nil {
			sent++
			total += len(out) + 500
		}
	}
	rate := float64(total) / 10
	if rate > 100_000*1.03 {
		t.Errorf("%.0f B/s written, budget 100000", rate)
	}
	if sent < 20 {
		t.Errorf("%d pictures in 10 s, want at least 2 a second", sent)
	}
	t.Logf("%d pictures, %.0f B/s, scale %.2f", sent, rate, p.scale)
}

// A kitty picture bigger than a quarter second's budget still goes at least
// twice a second while the screen's own text is written between pictures:
// the budget's bucket holds a whole picture and the text beside it.
func TestPictureBudgetLargeFramesWithText(t *testing.T) {
	var written uint64
	const budget = 200_000
	p := newPicture(GraphicsKitty, false, false, 10, 20, budget, nil, func() uint64 { return written })
	p.surf.place(320, 240, 1, 4, 118, 30, 8)
	p.settle = false
	pic := testPicture()
	now := testNow
	sent, total, biggest := 0, 0, 0
	for range 100 { // ten seconds at ten samples a second
		now = now.Add(100 * time.Millisecond)
		out := p.frame(pic, now)
		written += uint64(len(out)) + 500 // and the screen's text
		total += len(out) + 500
		if out != nil {
			sent++
			biggest = max(biggest, len(out))
		}
	}
	if biggest <= budget/4 {
		t.Fatalf("largest picture %d bytes: the test wants pictures over a quarter second's budget (%d)", biggest, budget/4)
	}
	if rate := float64(total) / 10; rate > budget*1.05 {
		t.Errorf("%.0f B/s written, budget %d", rate, budget)
	}
	if sent < 20 {
		t.Errorf("%d pictures of up to %d bytes in 10 s, want at least 2 a second", sent, biggest)
	}
}

// Over SSH size comes before motion: a budget that carries the full
// picture at 2 a second or more keeps it full size and lowers the rate,
// rather than sending a smaller picture more often (to see a rash, size
// matters more than motion).
func TestPictureBudgetSpendsOnSizeFirst(t *testing.T) {
	pic := testPicture()
	full := newPicture(GraphicsKitty, false, false, 10, 20, 0, nil, nil)
	full.surf.place(320, 240, 1, 4, 118, 30, 8)
	full.settle = false
	size := len(full.frame(pic, testNow))
	// The budget carries 2.7 full pictures a second, and the screen's
	// text beside them.
	budget := int(float64(size) * 2.7 / fillShare)
	var written uint64
	p := newPicture(GraphicsKitty, false, false, 10, 20, budget, nil, func() uint64 { return written })
	p.surf.place(320, 240, 1, 4, 118, 30, 8)
	p.settle = false
	now := testNow
	var sizes []int
	for range 100 { // ten seconds at ten samples a second
		now = now.Add(100 * time.Millisecond)
		out := p.frame(pic, now)
		written += uint64(len(out)) + 200 // and the screen's text
		if out != nil {
			sizes = append(sizes, len(out))
		}
	}
	small := 0
	for _, n := range sizes {
		if n < size*9/10 {
			small++
		}
	}
	if small > 0 || len(sizes) < 20 {
		t.Errorf("%d pictures in 10 s under a budget of %d B/s, %d of them smaller than the full %d bytes (%v): want every one full size, at least 2 a second",
			len(sizes), budget, small, size, sizes)
	}
}

// A budget too small for two full pictures a second makes them smaller.
func TestPictureBudgetShrinks(t *testing.T) {
	p := newPicture(GraphicsSixel, false, false, 10, 20, 16_000, nil, nil)
	p.surf.place(320, 240, 1, 4, 60, 20, 2)
	p.settle = false
	pic := testPicture()
	now := testNow
	var sizes []int
	for range 100 {
		now = now.Add(100 * time.Millisecond)
		if out := p.frame(pic, now); out != nil {
			sizes = append(sizes, len(out))
		}
	}
	if p.scale >= 1 || len(sizes) < 15 || sizes[len(sizes)-1] >= sizes[0] {
		t.Errorf("scale %.2f after %d pictures of %v bytes: want smaller pictures, at least 2 a second after the first", p.scale, len(sizes), sizes)
	}
}

// While the terminal has not taken the last write, pictures are dropped,
// not queued; they resume once it has.
func TestPictureDroppedWhileTerminalBusy(t *testing.T) {
	busy := true
	p := newPicture(GraphicsKitty, false, false, 10, 20, 0, func() bool { return busy }, nil)
	p.surf.place(320, 240, 1, 4, 60, 20, 8)
	p.settle = false
	pic := testPicture()
	for i := range 5 {
		if out := p.frame(pic, testNow.Add(time.Duration(i)*100*time.Millisecond)); out != nil {
			t.Fatalf("picture %d written while the terminal was busy", i)
		}
	}
	busy = false
	if out := p.frame(pic, testNow.Add(time.Second)); len(out) == 0 {
		t.Fatal("no picture once the terminal had caught up")
	}
}

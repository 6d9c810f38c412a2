package systest

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestEndToEndXtermTheme runs the console in xterm with xterm's own default
// colours (black on white, as most terminals' light profiles are) and
// reversed (-rv: white on black), calls a patient while another waits, and
// measures on the screenshot of the call screen the contrast of every
// character cell of text against the background it is drawn on: the
// patient's name, the Network panel's figures and the queue line by name,
// every other cell of text too. The console asks the terminal for its
// background colour (xterm answers OSC 11): the patient's name is in the
// palette of that background.
func TestEndToEndXtermTheme(t *testing.T) {
	for _, tool := range []string{"Xvfb", "xterm", "import", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (make test-deps installs xvfb, xterm, imagemagick and xdotool): %v", tool, err)
		}
	}
	bin := binary(t)
	for _, tc := range []struct {
		name    string
		args    []string
		bg      color.RGBA // the terminal's background
		heading color.RGBA // the patient's name in the palette for it
	}{
		// The heading colours are xterm's 256-colour palette's 24 and 230,
		// ThemeStyles' Heading for light and dark.
		{"light", nil, color.RGBA{0xff, 0xff, 0xff, 255}, color.RGBA{0x00, 0x5f, 0x87, 255}},
		{"dark", []string{"-rv"}, color.RGBA{0, 0, 0, 255}, color.RGBA{0xff, 0xff, 0xd7, 255}},
		// xterm with allowSendEvents answers no colour query: the palette
		// for either background, the name in the terminal's own colour.
		{"no answer", []string{"-xrm", "XTerm*allowSendEvents: true"}, color.RGBA{0xff, 0xff, 0xff, 255}, color.RGBA{0, 0, 0, 255}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if keep := os.Getenv("TELECONSOLE_SHOTS"); keep != "" {
				dir = filepath.Join(keep, "theme-"+strings.ReplaceAll(tc.name, " ", "-"))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			x := startXvfb(t, 1280, 900)
			addr := freePort(t)
			logPath := filepath.Join(t.TempDir(), "console.log")
			// xterm's default colours are its own: no -fg, no -bg. TERM
			// as nearly every terminal sets it: 256 colours.
			args := append([]string{"-ti", "vt340", "-tn", "xterm-256color", "-fn", "10x20", "-geometry", "120x40+0+0",
				"-xrm", "XTerm*numColorRegisters: 256"}, tc.args...)
			args = append(args, "-e", bin, "--listen", addr, "--hpr", testDoctor, "--ice-servers", "",
				"--media", "synthetic", "--verify", "off", "--log", logPath, "--data-dir", t.TempDir())
			term := exec.Command("xterm", args...)
			term.Env = append(os.Environ(), "DISPLAY="+x.name)
			var termOut syncBuffer
			term.Stdout, term.Stderr = &termOut, &termOut
			if err := term.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = term.Process.Kill()
				_ = term.Wait()
				if t.Failed() {
					logText, _ := os.ReadFile(logPath)
					t.Logf("xterm output:\n%s\nconsole log tail:\n%s", termOut.String(), tail(string(logText), 40))
				}
			})
			waitFile(t, logPath, "console starting", 15*time.Second)
			window := ""
			for deadline := time.Now().Add(10 * time.Second); window == "" && time.Now().Before(deadline); {
				cmd := exec.Command("xdotool", "search", "--class", "xterm")
				cmd.Env = append(os.Environ(), "DISPLAY="+x.name)
				out, _ := cmd.Output()
				window, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
				time.Sleep(100 * time.Millisecond)
			}
			if window == "" {
				t.Fatal("no xterm window")
			}

			uri := "http://" + addr + "/api/v1"
			c := &consultation{logPath: logPath, bin: bin, consoleURI: uri}
			card := filepath.Join(dir, "card.png")
			writePNG(t, card, testCard())
			c.patient, c.patientOut = startPatient(t, bin, uri, freePort(t), "--picture", card)
			c.waitPatientSaw(t, "ACK received", 15*time.Second)
			// A second patient waits: the queue line names them.
			_, second := startPatient(t, bin, uri, freePort(t), "--name", "Meera Iyer", "--abha", "meera.iyer@sbx")
			for deadline := time.Now().Add(15 * time.Second); !strings.Contains(second.String(), "ACK received"); time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the second patient was never acknowledged:\n%s", tail(second.String(), 20))
				}
			}
			time.Sleep(1500 * time.Millisecond) // the waiting room reads the room once a second
			x.screenshot(t, filepath.Join(dir, "waiting.png"))
			// The first patient is the one selected. Keys go through
			// XTEST to the window under the pointer: xterm refuses sent
			// events unless allowSendEvents, which turns its colour
			// queries off.
			if strings.Contains(tc.name, "no answer") {
				x.run(t, "xdotool", "key", "--window", window, "Return")
			} else {
				x.run(t, "xdotool", "mousemove", "600", "400")
				x.run(t, "xdotool", "key", "Return")
			}
			c.waitPatientSaw(t, "call Connected", 15*time.Second)
			time.Sleep(4 * time.Second) // figures in the Network panel, the picture drawn
			shotPath := filepath.Join(dir, "call.png")
			shot := x.screenshot(t, shotPath)
			t.Logf("screenshot %s", shotPath)

			scr := xtermScreen{img: shot}
			if got := scr.cellColors(0, 1).bg; got != tc.bg {
				t.Fatalf("the terminal's background is %v, want %v (screenshot %s)", got, tc.bg, shotPath)
			}
			// The patient's name, top left of the call screen.
			name := scr.measure(image.Rect(0, 1, len("Manish Pravin Kahane"), 2))
			if name.fg[tc.heading] == 0 {
				t.Errorf("the patient's name is drawn in %v, not the %s palette's %v: the terminal's background did not choose the palette", name.fgList(), tc.name, tc.heading)
			}
			// The Network panel's figures: right of the labels, rows of
			// RTT to video; and the queue line under the video.
			for _, part := range []struct {
				what  string
				cells image.Rectangle
			}{
				{"the patient's name", image.Rect(0, 1, len("Manish Pravin Kahane"), 2)},
				{"the Network panel's figures", image.Rect(80, 4, 118, 10)},
				{"the Network panel's graphs", image.Rect(80, 11, 118, 14)},
				{"the queue line", image.Rect(0, 36, 60, 37)},
			} {
				m := scr.measure(part.cells)
				if len(m.fg) == 0 {
					t.Errorf("%s (cells %v): no text there (screenshot %s)", part.what, part.cells, shotPath)
					continue
				}
				t.Logf("%s: %s", part.what, m)
				if m.min < 4.5 {
					t.Errorf("%s: contrast %.2f:1 (%v on %v), under 4.5:1", part.what, m.min, m.worstFG, m.worstBG)
				}
			}
			// Every cell of text on the screen, the picture's area aside
			// (the Patient video box's inside: columns 1 to 70, rows 4 to
			// 34).
			all := scr.measure(image.Rect(0, 0, 120, 40), image.Rect(1, 4, 71, 35))
			t.Logf("whole screen: %s", all)
			if all.min < 4.5 {
				t.Errorf("whole screen: contrast %.2f:1 (%v on %v at cell %v), under 4.5:1", all.min, all.worstFG, all.worstBG, all.worstAt)
			}
		})
	}
}

// xtermScreen is a screenshot of xterm at 10x20-pixel cells, at the top
// left of the screen: its window's border of 1 pixel and its inner border
// of 2 aside.
type xtermScreen struct{ img image.Image }

// cellPixels is one character cell's colours: its background (the most
// common) and the pixel count of every other colour (the glyph). xterm
// draws its bitmap fonts without smoothing: a glyph's pixels are its colour.
type cellPixels struct {
	bg     color.RGBA
	others map[color.RGBA]int
}

func (s xtermScreen) cellColors(col, row int) cellPixels {
	counts := map[color.RGBA]int{}
	x0, y0 := 3+col*10, 3+row*20
	for y := y0; y < y0+20; y++ {
		for x := x0; x < x0+10; x++ {
			r, g, b, _ := s.img.At(x, y).RGBA()
			counts[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 255}]++
		}
	}
	var bg color.RGBA
	for c, n := range counts {
		if n > counts[bg] || (n == counts[bg] && luminanceRGB(c) > luminanceRGB(bg)) {
			bg = c
		}
	}
	delete(counts, bg)
	return cellPixels{bg: bg, others: counts}
}

// contrastMeasure is the contrast of a region's text: every glyph colour
// against its cell's background.
type contrastMeasure struct {
	fg               map[color.RGBA]int // glyph colours, by pixels
	cells            int                // cells with a glyph
	min              float64
	worstFG, worstBG color.RGBA
	worstAt          image.Point
}

func (m contrastMeasure) fgList() []string {
	var out []string
	for c, n := range m.fg {
		out = append(out, fmt.Sprintf("#%02x%02x%02x (%d px)", c.R, c.G, c.B, n))
	}
	sort.Strings(out)
	return out
}

func (m contrastMeasure) String() string {
	return fmt.Sprintf("%d cells of text, lowest contrast %.2f:1 (#%02x%02x%02x on #%02x%02x%02x), colours %s",
		m.cells, m.min, m.worstFG.R, m.worstFG.G, m.worstFG.B, m.worstBG.R, m.worstBG.G, m.worstBG.B, strings.Join(m.fgList(), ", "))
}

// measure measures the cells of r, those of skip aside.
func (s xtermScreen) measure(r image.Rectangle, skip ...image.Rectangle) contrastMeasure {
	m := contrastMeasure{fg: map[color.RGBA]int{}, min: math.Inf(1)}
	for row := r.Min.Y; row < r.Max.Y; row++ {
	cells:
		for col := r.Min.X; col < r.Max.X; col++ {
			for _, k := range skip {
				if (image.Point{col, row}).In(k) {
					continue cells
				}
			}
			c := s.cellColors(col, row)
			if len(c.others) > 0 {
				m.cells++
			}
			for fg, n := range c.others {
				m.fg[fg] += n
				if k := contrastRGB(fg, c.bg); k < m.min {
					m.min, m.worstFG, m.worstBG, m.worstAt = k, fg, c.bg, image.Point{col, row}
				}
			}
		}
	}
	return m
}

// luminanceRGB is a colour's relative luminance (WCAG 2).
func luminanceRGB(c color.RGBA) float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// contrastRGB is the WCAG 2 contrast ratio of two colours, 1 to 21.
func contrastRGB(a, b color.RGBA) float64 {
	la, lb := luminanceRGB(a), luminanceRGB(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}

// writePNG writes img to path.
func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

package ui

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	uv "github.com/charmbracelet/ultraviolet"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/ansi/kitty"

	"teleconsole/record"
)

// fakePhotos is a Photos over fixed pictures; an address it has no
// picture for has no photo.
type fakePhotos struct {
	mu     sync.Mutex
	photos map[string]image.Image
	errs   map[string]error
	asked  []string
}

func (f *fakePhotos) PhotoNote(addr string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.photos[addr] != nil:
		return "photo"
	case f.errs[addr] != nil:
		return "photo unreadable"
	}
	return "no photo"
}

func (f *fakePhotos) PatientPhoto(addr string) (image.Image, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, addr)
	if img := f.photos[addr]; img != nil {
		return img, nil
	}
	if err := f.errs[addr]; err != nil {
		return nil, err
	}
	return nil, errors.New("no photo: none came with the patient's READY")
}

const rashPNG = "testdata/rash.png"

// pictureMessage is a picture the patient sent, kept at path.
func pictureMessage(id, name, path string, at time.Time) record.Message {
	return record.Message{Peer: "asha.rao@sbx", ID: id, At: at, Direction: record.In, ContentType: "media", Text: name,
		Path: path, MimeType: "image/png", Status: "received: image/png, 911 bytes"}
}

// pictureCall is a call with the video shown and a chat with one picture
// in it, and one file that is not a picture.
func pictureCall(t *testing.T, w, h int, pics ...record.Message) Model {
	t.Helper()
	m := connected(t, w, h, true)
	m.chat.chatter = newFakeChat()
	at := testNow.Add(time.Minute)
	msgs := []record.Message{
		{Peer: "asha.rao@sbx", ID: "1", At: at, Direction: record.In, ContentType: "text", Text: "here is the rash", Status: "received"},
		{Peer: "asha.rao@sbx", ID: "2", At: at, Direction: record.In, ContentType: "media", Text: "report.pdf", Path: "testdata/report.pdf",
			MimeType: "application/pdf", Status: "received: application/pdf, 2210 bytes"},
	}
	if len(pics) == 0 {
		pics = []record.Message{pictureMessage("3", "rash.png", rashPNG, at.Add(time.Second))}
	}
	for _, msg := range append(msgs, pics...) {
		m, _ = update(t, m, chatEventMsg{msg})
	}
	return m
}

// feedViewer feeds the model the viewer's own messages that cmd produces,
// until there are none: the video's ticks and the event waits are left
// alone.
func feedViewer(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	for range 10 {
		var next []tea.Cmd
		got := false
		for _, msg := range run(t, cmd) {
			switch msg.(type) {
			case pictureLoadedMsg, pictureFitMsg, pictureDrawMsg:
				got = true
				var c tea.Cmd
				m, c = update(t, m, msg)
				next = append(next, c)
			}
		}
		if !got {
			return m
		}
		cmd = tea.Batch(next...)
	}
	return m
}

// colouredCells counts the cells of the rows from..to (screen rows) whose
// background is set: the half blocks of a picture.
func colouredCells(view string, from, to int) int {
	n := 0
	lines := strings.Split(view, "\n")
	for y := from; y < to && y < len(lines); y++ {
		n += strings.Count(lines[y], ";48;5;")
	}
	return n
}

// TestPictureShownAndClosed: o opens the chat's picture over the video
// area, read in a command; the screen shows it in half blocks with its
// name, the stats beside it; esc closes it and the video is back.
func TestPictureShownAndClosed(t *testing.T) {
	m := pictureCall(t, 80, 24)
	if !m.keys.Picture.Enabled() {
		t.Fatal("o is off with a picture in the chat")
	}
	m, cmd := update(t, m, press("o"))
	if !m.viewer.visible || m.viewer.src != nil {
		t.Fatalf("o: visible %v, picture read in Update %v", m.viewer.visible, m.viewer.src != nil)
	}
	if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "Opening the picture") {
		t.Errorf("no word while the picture is read:\n%s", screen)
	}
	m = feedViewer(t, m, cmd)
	view := m.View().Content
	screen := ansi.Strip(view)
	if !strings.Contains(screen, "rash.png (esc closes)") || !strings.Contains(screen, "RTT") {
		t.Fatalf("the picture's box or the stats missing:\n%s", screen)
	}
	// The rash's red (palette 160) and the sleeve's blue (palette 25) are
	// in the video area's rows, above the chat pane.
	if !strings.Contains(view, ";48;5;160m") && !strings.Contains(view, "38;5;160;") || colouredCells(view, 4, 12) < 5 {
		t.Errorf("no picture in half blocks in the video area:\n%s", screen)
	}
	if m.call.pictureOn() {
		t.Error("the video's picture is on under the viewer")
	}
	m, _ = update(t, m, press("esc"))
	if m.viewer.isOpen() || strings.Contains(ansi.Strip(m.View().Content), "rash.png (esc") {
		t.Fatalf("esc did not close the picture:\n%s", ansi.Strip(m.View().Content))
	}
	if !strings.Contains(ansi.Strip(m.View().Content), "Patient video") || !m.call.Active() {
		t.Error("the video panel is not back, or esc ended the call")
	}
}

// TestPictureBrowse: left and right go through the chat's pictures.
func TestPictureBrowse(t *testing.T) {
	at := testNow.Add(time.Minute)
	m := pictureCall(t, 120, 40, pictureMessage("3", "rash.png", rashPNG, at), pictureMessage("4", "wound.png", rashPNG, at.Add(time.Second)))
	m, cmd := update(t, m, press("o"))
	m = feedViewer(t, m, cmd)
	if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "wound.png 2/2") {
		t.Fatalf("o does not open the latest picture:\n%s", screen)
	}
	m, cmd = update(t, m, tea.KeyPressMsg{Code: tea.KeyLeft})
	m = feedViewer(t, m, cmd)
	if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "rash.png 1/2") || m.viewer.src == nil {
		t.Fatalf("left does not show the earlier picture:\n%s", screen)
	}
	m, _ = update(t, m, tea.KeyPressMsg{Code: tea.KeyLeft}) // the first: stays
	if m.viewer.msgID != "3" {
		t.Errorf("left at the first picture moved to %s", m.viewer.msgID)
	}
}

// TestPictureRefused: a file that is not a picture, one that claims
// 36 megapixels, and one not kept say so on the screen, and esc closes.
func TestPictureRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.png")
	if err := os.WriteFile(bad, append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 3000)...), 0o600); err != nil {
		t.Fatal(err)
	}
	var huge bytes.Buffer
	if err := png.Encode(&huge, image.NewGray(image.Rect(0, 0, 6000, 6000))); err != nil {
		t.Fatal(err)
	}
	hugePath := filepath.Join(dir, "huge.png")
	if err := os.WriteFile(hugePath, huge.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{bad, "picture header"},
		{hugePath, "picture too large: 6000x6000 pixels"},
		{"", "not kept"},
	} {
		m := pictureCall(t, 80, 24, pictureMessage("3", "x.png", c.path, testNow))
		m, cmd := update(t, m, press("o"))
		m = feedViewer(t, m, cmd)
		if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "Cannot show x.png") || !strings.Contains(screen, c.want) {
			t.Errorf("%q: want %q on screen:\n%s", c.path, c.want, screen)
		}
		m, _ = update(t, m, press("esc"))
		if m.viewer.isOpen() {
			t.Errorf("%q: esc did not close", c.path)
		}
	}
}

// TestPictureUnderHelp: help over the viewer hides it, and its close
// shows it again; the call's end closes it.
func TestPictureUnderHelp(t *testing.T) {
	m := pictureCall(t, 80, 24)
	m, cmd := update(t, m, press("o"))
	m = feedViewer(t, m, cmd)
	m, _ = update(t, m, press("?"))
	if m.viewer.visible || strings.Contains(ansi.Strip(m.View().Content), "rash.png (esc") {
		t.Fatal("the viewer is drawn under help")
	}
	m, _ = update(t, m, press("?"))
	if !m.viewer.visible {
		t.Fatal("the viewer did not come back after help")
	}
	m, _ = endCall(t, m, 0, nil)
	m, _ = update(t, m, returnMsg{call: m.call.id})
	if m.viewer.isOpen() {
		t.Error("the viewer stayed open after the call screen went")
	}
}

func photoModel(t *testing.T, w, h int) (Model, *fakePhotos) {
	t.Helper()
	src, err := readPicture(rashPNG)
	if err != nil {
		t.Fatal(err)
	}
	fp := &fakePhotos{photos: map[string]image.Image{"asha.rao@sbx": src},
		errs: map[string]error{"vikram.singh@sbx": errors.New("photo unreadable: not a JPEG, PNG, GIF or WebP picture")}}
	return loaded(t, newFake(&recorder{}, nil), w, h, WithPhotos(fp)), fp
}

// TestPhotoFollowsSelection: i shows the selected patient's photo over the
// waiting room; moving the selection shows the next one's, or why there
// is none.
func TestPhotoFollowsSelection(t *testing.T) {
	m, fp := photoModel(t, 80, 24)
	if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "photo (i)") {
		t.Errorf("the waiting room does not say the patient has a photo:\n%s", screen)
	}
	m, cmd := update(t, m, press("i"))
	m = feedViewer(t, m, cmd)
	view := m.View().Content
	if screen := ansi.Strip(view); !strings.Contains(screen, "Photo of Asha Rao") || colouredCells(view, 3, 20) < 5 {
		t.Fatalf("no photo:\n%s", screen)
	}
	m, cmd = update(t, m, press("down"))
	m = feedViewer(t, m, cmd)
	if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "Photo of Vikram Singh") || !strings.Contains(screen, "photo unreadable") {
		t.Fatalf("the unreadable photo is not reported:\n%s", screen)
	}
	m, cmd = update(t, m, press("down"))
	m = feedViewer(t, m, cmd)
	if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "no photo") {
		t.Fatalf("no photo is not said:\n%s", screen)
	}
	if strings.Join(fp.asked, ",") != "asha.rao@sbx,vikram.singh@sbx,meera.iyer.1987@sbx" {
		t.Errorf("asked for %v", fp.asked)
	}
	m, _ = update(t, m, press("esc"))
	if m.viewer.isOpen() || !strings.Contains(ansi.Strip(m.View().Content), "Waiting room (3)") {
		t.Fatal("esc did not bring the waiting room back")
	}
	// In the call, i shows the called patient's.
	m, _ = update(t, m, press("up"))
	m, _ = update(t, m, press("up"))
	m, _ = update(t, m, press("enter"))
	m, cmd = update(t, m, press("i"))
	m = feedViewer(t, m, cmd)
	if screen := ansi.Strip(m.View().Content); !strings.Contains(screen, "Photo of Asha Rao (esc closes)") {
		t.Fatalf("no photo in the call:\n%s", screen)
	}
}

func TestPictureViews(t *testing.T) {
	for _, sz := range sizes {
		w, h := sz.w, sz.h
		t.Run(sizeName("call_picture", w, h), func(t *testing.T) {
			m := pictureCall(t, w, h)
			m, cmd := update(t, m, press("o"))
			checkGolden(t, feedViewer(t, m, cmd), w, h)
		})
		t.Run(sizeName("waiting_photo", w, h), func(t *testing.T) {
			m, _ := photoModel(t, w, h)
			m, cmd := update(t, m, press("i"))
			checkGolden(t, feedViewer(t, m, cmd), w, h)
		})
		t.Run(sizeName("waiting_nophoto", w, h), func(t *testing.T) {
			m, _ := photoModel(t, w, h)
			m, _ = update(t, m, press("down"))
			m, _ = update(t, m, press("down"))
			m, cmd := update(t, m, press("i"))
			checkGolden(t, feedViewer(t, m, cmd), w, h)
		})
	}
}

// openOnTerminal is a call on an emulated terminal in mode g with the
// chat's picture opened over the video.
func openOnTerminal(t *testing.T, g Graphics) *emulated {
	t.Helper()
	e := startEmulated(t, g, 120, 40, WithChat(newFakeChat()))
	e.call()
	e.prog.Send(chatEventMsg{pictureMessage("3", "rash.png", rashPNG, testNow)})
	e.waitFor("listed the picture", 3*time.Second, e.shows("[file] rash.png"))
	e.prog.Send(press("o"))
	e.waitFor("opened the picture", 3*time.Second, e.shows("rash.png (esc closes)"))
	return e
}

// TestPictureSixelOnTerminal: the picture goes over the video area as one
// sixel image, drawn once (a still picture is not sent again and again),
// never while help is over it, and the video comes back after esc.
func TestPictureSixelOnTerminal(t *testing.T) {
	e := openOnTerminal(t, GraphicsSixel)
	e.mu.Lock()
	before := len(e.sixels)
	e.mu.Unlock()
	e.waitFor("drew the picture", 3*time.Second, func() bool { return e.sixelCount() > before })
	time.Sleep(700 * time.Millisecond)
	e.mu.Lock()
	drawn := append([]uv.Position(nil), e.sixels[before:]...)
	e.mu.Unlock()
	if len(drawn) != 1 {
		t.Errorf("%d sixel images while the picture is open, want it drawn once", len(drawn))
	}
	// rash.png is 240x180: in the 68x30-cell area of 10x20-pixel cells
	// it is drawn at twice its size, 480x360, 48x18 cells, centred.
	if p := drawn[0]; p.X < 1+(68-48)/2-1 || p.X > 1+(68-48)/2+1 || p.Y < 4 || p.Y > 4+(30-18)/2+1 {
		t.Errorf("picture drawn at %v, want centred in the video area", p)
	}
	l := e.lines()
	if !strings.Contains(l[3], "rash.png (esc closes)") || !strings.Contains(l[3], "Network") {
		t.Errorf("the box around the picture or the stats beside it lost:\n%s", strings.Join(l, "\n"))
	}

	e.prog.Send(press("?"))
	e.waitFor("showed help", 2*time.Second, e.shows("Keys for this screen"))
	n := e.sixelCount()
	time.Sleep(500 * time.Millisecond)
	if got := e.sixelCount(); got != n {
		t.Errorf("%d pictures drawn over the help screen", got-n)
	}
	e.prog.Send(press("?"))
	e.waitFor("drew the picture again after help", 3*time.Second, func() bool { return e.sixelCount() > n })

	e.prog.Send(press("esc"))
	e.waitFor("closed the picture", 2*time.Second, func() bool { return !e.shows("rash.png (esc closes)")() })
	n = e.sixelCount()
	e.waitFor("drew the video again", 3*time.Second, func() bool { return e.sixelCount() >= n+3 })
	e.checkCallText("sixel")
}

// TestPictureKittyOnTerminal: the picture is a kitty image of its own (id
// kittyViewerID) shown by its placeholder cells, which replace the video's;
// esc deletes it and the video's cells come back.
func TestPictureKittyOnTerminal(t *testing.T) {
	e := openOnTerminal(t, GraphicsKitty)
	ids := func(id int) func() (n int) {
		return func() (n int) {
			for y := range 40 {
				for x := range 120 {
					c := e.cell(x, y)
					if strings.HasPrefix(c.Content, string(kitty.Placeholder)) && c.Style.Fg == ansi.IndexedColor(id) {
						n++
					}
				}
			}
			return n
		}
	}
	sent := func(ctl string) func() bool {
		return func() bool {
			for _, c := range e.kittyCommands() {
				if strings.Contains(","+c+",", ","+ctl+",") {
					return true
				}
			}
			return false
		}
	}
	e.waitFor("sent the picture as image 43", 3*time.Second, sent("i=43"))
	e.waitFor("drew the picture's placeholders", 3*time.Second, func() bool { return ids(kittyViewerID)() > 0 })
	if n := ids(kittyImageID)(); n != 0 {
		t.Errorf("%d of the video's placeholder cells under the picture", n)
	}
	e.prog.Send(press("esc"))
	e.waitFor("deleted the picture", 3*time.Second, func() bool {
		for _, c := range e.kittyCommands() {
			if strings.Contains(c, "a=d") && strings.Contains(c, "i=43") {
				return true
			}
		}
		return false
	})
	e.waitFor("brought the video's cells back", 3*time.Second, func() bool { return ids(kittyImageID)() > 0 && ids(kittyViewerID)() == 0 })
}

// TestViewerFitsEverySize: with a picture open, over the call screen or
// the waiting room, the screen is exactly the terminal's size at every
// size the console draws in.
func TestViewerFitsEverySize(t *testing.T) {
	call := pictureCall(t, 80, 24)
	call, cmd := update(t, call, press("o"))
	call = feedViewer(t, call, cmd)
	waiting, _ := photoModel(t, 80, 24)
	waiting, cmd = update(t, waiting, press("i"))
	waiting = feedViewer(t, waiting, cmd)
	for name, m := range map[string]Model{"call": call, "waiting": waiting} {
		for w := 20; w <= 130; w += 7 {
			for h := chromeLines + 3; h <= 45; h += 2 {
				m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
				if !m.viewer.visible {
					t.Fatalf("%s %dx%d: the viewer closed", name, w, h)
				}
				if err := misfit(m.View().Content, w, h); err != nil {
					t.Fatalf("%s %dx%d: %v", name, w, h, err)
				}
			}
		}
	}
}

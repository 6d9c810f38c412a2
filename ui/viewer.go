package ui

import (
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"teleconsole/internal/still"
	"teleconsole/record"
)

// Photos gives the viewer the patients' photos from their READY
// (WithPhotos): the doctor confirms who they are talking to.
type Photos interface {
	// PhotoNote says in a word or two what there is of the photo of the
	// patient at addr: "photo", "no photo", "photo unreadable". The
	// screen asks at each draw: it must be quick and never block.
	PhotoNote(addr string) string
	// PatientPhoto returns the photo of the patient at addr, or an error
	// that says why there is none, in words for the doctor.
	PatientPhoto(addr string) (image.Image, error)
}

// WithPhotos gives the model the patients' photos: i shows the selected or
// called patient's.
func WithPhotos(p Photos) Option {
	return func(m *Model) { m.viewer.photos = p }
}

// The viewer keeps a picture at most this size: more than the video area
// of a large terminal in real pixels, and at most 7.7 MB.
const viewerMaxW, viewerMaxH = 1600, 1200

// viewerMaxFile is the largest file the viewer reads: a chat attachment is
// at most 5 MB (uhiclient.DefaultMaxMedia).
const viewerMaxFile = 16 << 20

// pictureSettle is how long after a placement the viewer's picture in real
// pixels is drawn: Bubble Tea draws the cells under it first (it renders at
// 60 frames a second), or it would draw them over the picture.
const pictureSettle = 100 * time.Millisecond

// viewerKind is what the viewer shows.
type viewerKind int

const (
	viewerClosed viewerKind = iota
	viewerPhoto             // a patient's photo from their READY
	viewerFile              // a picture received or sent in the chat
)

// cellRect is a rectangle of cells on the screen, 0-based.
type cellRect struct{ col, row, w, h int }

// viewerModel is the picture viewer: a patient's photo, or a picture of
// the chat, over the video area of the call screen or over the waiting
// room, drawn in real pixels where the terminal has them (its own surface,
// so the video's picture can go and come back under it) and in half blocks
// elsewhere. Pictures are read and scaled in commands, never in Update.
//
// It keeps no Styles of its own (they take 14 KB, and the root model,
// copied at every update, stays under the 128 KB Go keeps on the stack).
type viewerModel struct {
	photos Photos

	kind   viewerKind
	peer   string // the patient whose picture it is
	name   string // and their name
	screen screen // the screen it opened on: it closes when that goes
	title  string
	msgID  string // viewerFile: the chat message shown
	seq    int    // tells the answer of the latest read from an earlier one's
	err    error
	src    *image.RGBA // the picture, at most viewerMaxW by viewerMaxH
	fit    *image.RGBA // src fitted to the placement's pixels
	fitFor image.Point // the pixels fit was made for
	dirty  bool        // src changed since it was drawn

	pic     *picture // the surface in real pixels; nil for half blocks
	visible bool     // drawn on the screen now
	area    cellRect // where the picture may go
	cells   string   // the picture in half blocks for the area
	cols    int
	rows    int
}

// pictureLoadedMsg carries a picture read for the viewer, or why not.
type pictureLoadedMsg struct {
	seq int
	img *image.RGBA
	err error
}

// pictureFitMsg carries the viewer's picture fitted to its placement.
type pictureFitMsg struct {
	seq  int
	img  *image.RGBA
	size image.Point // the pixels asked for
}

// pictureDrawMsg says the cells under the viewer's picture are drawn: the
// picture goes on them if it is still where it was placed (epoch).
type pictureDrawMsg struct{ epoch uint64 }

func loadPhotoCmd(p Photos, addr string, seq int) tea.Cmd {
	return func() tea.Msg {
		img, err := p.PatientPhoto(addr)
		if err != nil {
			return pictureLoadedMsg{seq: seq, err: err}
		}
		return pictureLoadedMsg{seq: seq, img: still.Fit(img, viewerMaxW, viewerMaxH)}
	}
}

func loadFileCmd(path string, seq int) tea.Cmd {
	return func() tea.Msg {
		img, err := readPicture(path)
		return pictureLoadedMsg{seq: seq, img: img, err: err}
	}
}

// readPicture reads the picture file at path, within the viewer's limits.
func readPicture(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, viewerMaxFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > viewerMaxFile {
		return nil, fmt.Errorf("%w: the file is over %d MB", still.ErrTooLarge, viewerMaxFile>>20)
	}
	img, err := still.Decode(data, still.MaxPixels)
	if err != nil {
		return nil, err
	}
	return still.Fit(img, viewerMaxW, viewerMaxH), nil
}

func fitCmd(src *image.RGBA, w, h, seq int) tea.Cmd {
	return func() tea.Msg { return pictureFitMsg{seq: seq, img: still.Fit(src, w, h), size: image.Pt(w, h)} }
}

func pictureDrawCmd(epoch uint64) tea.Cmd {
	return tea.Tick(pictureSettle, func(time.Time) tea.Msg { return pictureDrawMsg{epoch: epoch} })
}

// isOpen reports whether a picture is open (shown, or hidden under help).
func (v viewerModel) isOpen() bool { return v.kind != viewerClosed }

// setGraphics sets how pictures are drawn.
func (v *viewerModel) setGraphics(g Graphics, newPic func(Graphics) *picture) tea.Cmd {
	if (v.pic != nil) == g.pixels() && (v.pic == nil || v.pic.surf.mode == g) {
		return nil
	}
	off := v.takeOff()
	v.pic = nil
	if g.pixels() {
		v.pic = newPic(g)
		v.pic.surf.id = kittyViewerID
	}
	v.visible, v.dirty = false, true
	return off
}

// begin starts showing a new picture of kind for the patient at peer.
func (v *viewerModel) begin(kind viewerKind, peer, name string, s screen) tea.Cmd {
	off := v.takeOff()
	v.kind, v.peer, v.name, v.screen = kind, peer, name, s
	v.seq++
	v.err, v.src, v.fit, v.msgID = nil, nil, nil, ""
	v.dirty, v.visible = true, false
	return off
}

// openPhoto opens the photo of the patient at addr.
func (v *viewerModel) openPhoto(addr, name string, s screen) tea.Cmd {
	off := v.begin(viewerPhoto, addr, name, s)
	v.title = "Photo of " + cut(name, 30)
	return tea.Batch(off, loadPhotoCmd(v.photos, addr, v.seq))
}

// openFile opens the picture that chat message m carried.
func (v *viewerModel) openFile(m record.Message, name string, s screen) tea.Cmd {
	off := v.begin(viewerFile, m.Peer, name, s)
	v.msgID, v.title = m.ID, cut(m.Text, 40)
	if m.Path == "" {
		v.err = errors.New("not kept, so not shown: the record is off (--record off)")
		return off
	}
	return tea.Batch(off, loadFileCmd(m.Path, v.seq))
}

// close takes the viewer away.
func (v *viewerModel) close() tea.Cmd {
	off := v.takeOff()
	v.kind, v.visible = viewerClosed, false
	v.seq++
	v.src, v.fit, v.err = nil, nil, nil
	return off
}

// loaded takes a picture read.
func (v *viewerModel) loaded(msg pictureLoadedMsg) {
	if msg.seq != v.seq {
		return
	}
	v.src, v.err, v.fit, v.dirty = msg.img, msg.err, nil, true
}

// fitted takes the picture fitted to the placement, and draws it once the
// cells under it are drawn.
func (v *viewerModel) fitted(msg pictureFitMsg) tea.Cmd {
	if msg.seq != v.seq || v.pic == nil || !v.visible {
		return nil
	}
	v.fit, v.fitFor = msg.img, msg.size
	return pictureDrawCmd(v.pic.epoch.Load())
}

// draw writes the picture in real pixels, if it is still where it was
// placed when the draw was asked for.
func (v *viewerModel) draw(msg pictureDrawMsg) tea.Cmd {
	if v.pic == nil || !v.visible || v.fit == nil || msg.epoch != v.pic.epoch.Load() {
		return nil
	}
	if v.pic.busy != nil && v.pic.busy() {
		return pictureDrawCmd(msg.epoch) // the terminal is behind: later
	}
	out := v.pic.surf.draw(v.fit)
	if len(out) == 0 {
		return nil
	}
	v.pic.shown = true
	return v.pic.raw(out)
}

// takeOff takes the picture in real pixels off the terminal: bytes made
// for it and not yet written are not written (rawPicture); a kitty image
// is deleted, and sixel and iTerm2 pixels, which have no handle, go with a
// repaint of the screen.
func (v *viewerModel) takeOff() tea.Cmd {
	if v.pic == nil {
		return nil
	}
	v.pic.stale()
	if !v.pic.shown {
		return nil
	}
	v.pic.shown = false
	if v.pic.surf.mode == GraphicsKitty {
		return rawCmd(v.pic.surf.remove())
	}
	return tea.ClearScreen
}

// show puts the viewer on the screen in area a (on), or takes it off, and
// returns what that writes: nothing when nothing changed.
func (v *viewerModel) show(on bool, a cellRect) tea.Cmd {
	if !on {
		v.visible = false
		return v.takeOff()
	}
	if v.visible && a == v.area && !v.dirty {
		return nil
	}
	v.visible, v.area, v.dirty = true, a, false
	off := v.takeOff()
	v.cells, v.cols, v.rows = "", 0, 0
	if v.src == nil {
		return off // a message, or the picture being read
	}
	iw, ih := v.src.Rect.Dx(), v.src.Rect.Dy()
	if v.pic == nil {
		v.cols, v.rows = videoSize(iw, ih, a.w, a.h)
		var hb halfBlocks // a still picture: no colours kept from another
		v.cells = hb.Draw(v.src, v.cols, v.rows)
		return off
	}
	up := 8.0
	if v.pic.surf.mode == GraphicsSixel {
		up = 2 // a sixel picture is sent at the size it is shown
	}
	v.pic.surf.place(iw, ih, a.col, a.row, a.w, a.h, up)
	v.pic.stale()
	if !v.pic.surf.placed() {
		return off
	}
	w, h := v.pic.surf.pxW, v.pic.surf.pxH
	if v.fit != nil && v.fitFor == image.Pt(w, h) {
		return tea.Batch(off, pictureDrawCmd(v.pic.epoch.Load()))
	}
	return tea.Batch(off, fitCmd(v.src, w, h, v.seq))
}

// lines draws the viewer's w by h cells (the area's top-left at the
// block's): the picture, or what is being done, or why there is none.
func (v viewerModel) lines(st Styles, w, h int) []string {
	blank := strings.Repeat(" ", max(0, w))
	out := make([]string, h)
	for i := range out {
		out[i] = blank
	}
	if h <= 0 || w <= 0 {
		return out
	}
	var msg []string
	switch {
	case v.err != nil && v.kind == viewerPhoto:
		msg = []string{st.Warn.Render(cut(v.err.Error(), w-2))}
	case v.err != nil:
		msg = []string{st.Bad.Render(cut("Cannot show "+v.title+":", w-2)), st.Bad.Render(cut(v.err.Error(), w-2))}
	case v.src == nil:
		msg = []string{st.Dim.Render(pick(v.kind == viewerPhoto, "Reading the photo...", "Opening the picture..."))}
	}
	if msg != nil {
		msg = append(msg, "", st.Dim.Render("esc closes"))
		top := max(0, min(v.area.h, h)/2-len(msg)/2)
		for i, l := range msg {
			if top+i < h {
				out[top+i] = fitLine(center(l, w), w)
			}
		}
		return out
	}
	if v.pic != nil {
		return v.pic.surf.lines(v.area.col, v.area.row, w, h)
	}
	left := max(0, (v.area.w-v.cols)/2)
	right := max(0, w-left-v.cols)
	top := max(0, (v.area.h-v.rows)/2)
	padL, padR := strings.Repeat(" ", left), strings.Repeat(" ", right)
	i := top
	for l := range strings.SplitSeq(v.cells, "\n") {
		if i >= h {
			break
		}
		out[i] = padL + l + padR
		i++
	}
	return out
}

// boxTitle is the title of the box the picture is drawn in.
func (v viewerModel) boxTitle(pos string) string {
	t := v.title
	if pos != "" {
		t += " " + pos
	}
	return t + " (esc closes)"
}

// pictures returns the pictures of addr's chat on screen, oldest first.
func (c chatModel) pictures(addr string) []record.Message {
	var out []record.Message
	for _, m := range c.logs[addr] {
		if isPicture(m) {
			out = append(out, m)
		}
	}
	return out
}

// pictureCount is len(pictures(addr)), for the keys after every update
// (ten a second with the video), at no allocation.
func (c chatModel) pictureCount(addr string) int {
	n := 0
	for _, m := range c.logs[addr] {
		if isPicture(m) {
			n++
		}
	}
	return n
}

func isPicture(m record.Message) bool {
	return strings.EqualFold(m.ContentType, "media") && strings.HasPrefix(m.MimeType, "image/")
}

// The model's side of the viewer.

// targetName is the name of the patient the chat keys are for, or their
// address when they gave none.
func (m Model) targetName() string {
	addr := m.chatTarget()
	name := ""
	if m.screen == screenCall {
		name = m.call.patient.Name
	} else if p, ok := m.waiting.Selected(); ok {
		name = p.Name
	}
	if name == "" {
		return addr
	}
	return name
}

// picturePos says which of the chat's pictures the viewer shows ("2/3"),
// or "" for a photo or a chat of one picture.
func (m Model) picturePos() string {
	if m.viewer.kind != viewerFile {
		return ""
	}
	pics := m.chat.pictures(m.viewer.peer)
	for i, p := range pics {
		if p.ID == m.viewer.msgID && len(pics) > 1 {
			return fmt.Sprintf("%d/%d", i+1, len(pics))
		}
	}
	return ""
}

// stepPicture shows the chat's next picture (or the one before).
func (m *Model) stepPicture(next bool) tea.Cmd {
	pics := m.chat.pictures(m.viewer.peer)
	at := len(pics) - 1
	for i, p := range pics {
		if p.ID == m.viewer.msgID {
			at = i
		}
	}
	if next {
		at++
	} else {
		at--
	}
	if at < 0 || at >= len(pics) {
		return nil
	}
	return m.viewer.openFile(pics[at], m.viewer.name, m.screen)
}

// viewerArea is where the viewer's picture may go on the screen: the call
// screen's video area, or the waiting room's box under a line about the
// patient, above the chat pane in either.
func (m Model) viewerArea() cellRect {
	pane := m.chatPaneHeight()
	if m.screen == screenCall {
		col, row := m.call.videoOrigin()
		// The area starts on the call screen's fourth line.
		return cellRect{col: col, row: row, w: m.call.videoAreaW, h: max(0, min(m.call.videoAreaH, m.call.height-pane-3))}
	}
	_, ch := m.contentSize()
	// The title line, the box's top edge and the line about the patient.
	return cellRect{col: 1, row: 3, w: max(0, m.width-2), h: max(0, min(ch-3, ch-pane-2))}
}

// syncViewer keeps the viewer in step with the screen after each update:
// it closes when the screen it opened on goes, follows the waiting room's
// selection with the selected patient's photo, keeps off the screen under
// help, the history and the full-screen picture, and keeps the video's
// picture off while it lies over it.
func (m *Model) syncViewer() tea.Cmd {
	v := &m.viewer
	if !v.isOpen() && !v.visible && (m.screen != screenCall || m.call.covered == m.helpOpen) {
		return nil // nothing to show, hide or uncover: most updates
	}
	var cmds []tea.Cmd
	if v.isOpen() && v.screen != m.screen {
		cmds = append(cmds, v.close())
	}
	if v.kind == viewerPhoto && m.screen == screenWaiting {
		if addr := m.chatTarget(); addr != "" && addr != v.peer {
			cmds = append(cmds, v.openPhoto(addr, m.targetName(), m.screen))
		}
	}
	if v.kind == viewerFile && m.chatTarget() != v.peer {
		cmds = append(cmds, v.close())
	}
	on := v.isOpen() && !m.helpOpen && !m.history.open && !(m.screen == screenCall && m.call.fullscreen)
	if covered := m.helpOpen || on; m.screen == screenCall && covered != m.call.covered {
		// Only on a change: SetCovered takes the picture's bytes in
		// flight off the terminal's queue.
		cmds = append(cmds, m.call.SetCovered(covered))
	}
	var area cellRect
	if on {
		area = m.viewerArea()
	}
	cmds = append(cmds, v.show(on, area))
	return tea.Batch(cmds...)
}

// viewerBox draws the viewer over the waiting room, w by h cells: a box
// with a line about the patient above the picture.
func (m Model) viewerBox(w, h int) string {
	st := m.styles
	v := m.viewer
	about := " " + cut(v.peer, 40)
	if v.kind == viewerPhoto {
		if p, ok := m.waiting.Selected(); ok && p.Address == v.peer {
			if p.Gender != "" {
				about += "  " + cut(p.Gender, 10)
			}
			if p.TransactionID != "" {
				about += "  txn " + cut(p.TransactionID, 40)
			}
		}
	}
	lines := []string{fitLine(st.Dim.Render(about), w-2)}
	lines = append(lines, v.lines(st, w-2, max(0, h-3))...)
	if w < 2 || h < 2 {
		return fitBlock("", w, h)
	}
	return boxLines(st.Border, v.boxTitle(m.picturePos()), lines, w)
}

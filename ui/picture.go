package ui

import (
	"fmt"
	"image"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
)

// picture is the call screen's patient picture in real pixels: the
// surface that draws it, and the pacing that keeps the terminal link within
// its budget. Its bytes go out through tea.Raw; the cells under it are
// Bubble Tea's.
type picture struct {
	surf pixelSurface

	shown  bool // a picture is on the terminal
	settle bool // the placement changed: draw at the next sample, after Bubble Tea has drawn the cells

	// The budget (bytes a second written to the terminal, 0 for none) is
	// kept by a bucket of tokens that fills at the budget's rate and holds
	// a tenth of a second of it above the last frame's size (or above a
	// quarter second, for small frames): a frame is sent only when the
	// bucket holds the last frame's size, which lowers the frame rate
	// first. When that leaves fewer than minFPS, the picture is sent
	// smaller (scale), and larger again when the budget has room for it.
	budget int
	tokens float64
	filled time.Time
	scale  float64
	last   int // the last frame's size

	busy    func() bool   // the terminal has not taken the last write yet
	written func() uint64 // bytes written to the terminal in all, or nil
	charged uint64        // written() when the bucket was last charged

	sent []sentFrame // the last two seconds

	// epoch counts the times the picture was taken off the terminal or
	// moved. A picture's bytes reach the terminal through a message that
	// Bubble Tea handles after any message already queued, a key that
	// opens help among them: bytes of an earlier epoch are not written
	// (rawPicture).
	epoch atomic.Uint64
}

// rawPicture is a picture's bytes for tea.Raw, written only if the picture
// is still where it was when they were made: Bubble Tea turns a RawMsg into
// bytes with fmt.Sprint when the event loop reaches it, in order with the
// model's updates, so String sees the model's latest word.
type rawPicture struct {
	data  string // a copy: the surface reuses its buffer for the next frame
	epoch uint64
	cur   *atomic.Uint64
}

func (r rawPicture) String() string {
	if r.cur.Load() != r.epoch {
		return ""
	}
	return r.data
}

// stale takes the picture off the terminal's queue: bytes made before now
// are not written.
func (p *picture) stale() { p.epoch.Add(1) }

// raw returns the command that writes b, if the picture is still where it
// is now when Bubble Tea gets to it.
func (p *picture) raw(b []byte) tea.Cmd {
	if len(b) == 0 {
		return nil
	}
	r := rawPicture{data: string(b), epoch: p.epoch.Load(), cur: &p.epoch}
	return tea.Raw(r)
}

type sentFrame struct {
	at    time.Time
	bytes int
}

// Under a budget the picture keeps its size and comes less often, down to
// minFPS; only then is it made smaller. To examine a rash or an eye, size
// matters more than motion. A picture is made smaller when fewer than
// shrinkFPS of its size fit in the budget a second, a margin over minFPS
// for the screen's text, which takes its share, and for the samples, which
// fall on a 100 ms grid; larger again when more than growFPS of the larger
// size would fit.
const (
	minFPS    = 2
	shrinkFPS = minFPS * 1.2
	growFPS   = 3
)

// fillShare is the part of the budget the bucket fills at.
const fillShare = 0.95

func newPicture(mode Graphics, tmux, direct bool, cellW, cellH, budget int, busy func() bool, written func() uint64) *picture {
	p := &picture{
		surf:   pixelSurface{mode: mode, tmux: tmux, direct: direct, cellW: cellW, cellH: cellH},
		budget: budget, tokens: float64(budget) / 4, scale: 1, busy: busy, written: written,
	}
	if written != nil {
		p.charged = written()
	}
	return p
}

// rate returns the frames and bytes a second sent over the last two
// seconds.
func (p *picture) rate(now time.Time) (fps float64, bps int) {
	var n, b int
	for _, s := range p.sent {
		if now.Sub(s.at) <= 2*time.Second {
			n++
			b += s.bytes
		}
	}
	return float64(n) / 2, b / 2
}

// frame returns the bytes that draw img now, or nil when this sample is
// skipped: the placement just changed, the terminal is behind, or the
// budget has no room for it.
func (p *picture) frame(img *image.RGBA, now time.Time) []byte {
	if img == nil || !p.surf.placed() {
		return nil
	}
	if p.settle {
		p.settle = false
		return nil
	}
	if p.busy != nil && p.busy() {
		return nil // dropped: the terminal is behind
	}
	if p.budget > 0 {
		if !p.filled.IsZero() {
			// It holds a tenth of a second's budget above the last frame:
			// a bucket of exactly one frame, less the screen's text
			// charged beside it, never fills to that frame again.
			capacity := max(float64(p.budget)/4, float64(p.last)) + float64(p.budget)/10
			// It fills at 95% of the budget: a picture is written all at
			// once, so a second that begins just before one and ends
			// just after another carries one more than the average. At
			// the full rate, 120x40 sixel pictures over SSH came to
			// 198 to 200.5 KB/s of a 200 KB/s budget over 6 s.
			p.tokens = min(capacity, p.tokens+now.Sub(p.filled).Seconds()*fillShare*float64(p.budget))
		}
		p.filled = now
		if p.written != nil {
			// Everything written since the last charge: the pictures
			// that went out, and the screen's own text.
			w := p.written()
			p.tokens -= float64(w - p.charged)
			p.charged = w
		}
		if p.tokens < float64(p.last) {
			return nil
		}
		p.surf.scale = p.scale
	}
	out := p.surf.draw(img)
	if len(out) == 0 {
		return nil
	}
	p.shown = true
	p.last = len(out)
	if p.budget > 0 {
		if p.written == nil {
			p.tokens -= float64(len(out))
		}
		// The pictures of this size that fit in a second of the
		// bucket's fill. A step of the scale is 0.8 a side, and a
		// picture's bytes go as its area, near enough: 0.64 of them.
		fit := fillShare * float64(p.budget) / float64(len(out))
		switch {
		case fit < shrinkFPS && p.scale > 0.25:
			p.scale *= 0.8
		case fit*0.8*0.8 > growFPS && p.scale < 1:
			p.scale = min(1, p.scale/0.8)
		}
	}
	cut := 0
	for cut < len(p.sent) && now.Sub(p.sent[cut].at) > 2*time.Second {
		cut++
	}
	p.sent = append(p.sent[cut:], sentFrame{now, len(out)})
	return out
}

// describe says what the picture costs, for the status bar.
func (p *picture) describe(now time.Time) string {
	fps, bps := p.rate(now)
	s := fmt.Sprintf("%.0f fps %s", fps, formatBytesRate(bps))
	if p.budget > 0 {
		s += fmt.Sprintf(" of %s", formatBytesRate(p.budget))
		if p.scale < 1 {
			s += fmt.Sprintf(" at %d%%", int(p.scale*100+0.5))
		}
	}
	return s
}

func formatBytesRate(bps int) string {
	if bps >= 1000*1000 {
		return fmt.Sprintf("%.1f MB/s", float64(bps)/1e6)
	}
	return fmt.Sprintf("%d KB/s", (bps+500)/1000)
}

// shrink returns img scaled by f (nearest pixel) when f < 1, else img.
func shrink(img *image.RGBA, f float64) *image.RGBA {
	if f >= 1 {
		return img
	}
	b := img.Rect
	w, h := max(1, int(float64(b.Dx())*f)), max(1, int(float64(b.Dy())*f))
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	eachPixel(img, w, h, func(i int, r, g, bl uint8) {
		o := 4 * i
		out.Pix[o], out.Pix[o+1], out.Pix[o+2], out.Pix[o+3] = r, g, bl, 255
	})
	return out
}

// rawCmd hands bytes to Bubble Tea's raw output, or is nil for none.
func rawCmd(b []byte) tea.Cmd {
	if len(b) == 0 {
		return nil
	}
	return tea.Raw(string(b))
}

// The call screen's side of the picture.

// setGraphics sets how the picture is drawn, as the terminal's answers or
// the doctor's --video decided.
func (m *callModel) setGraphics(g Graphics, newPic func(Graphics) *picture) {
	if g == m.graphics && (m.pic != nil) == g.pixels() {
		return
	}
	m.graphics, m.pic = g, nil
	if g.pixels() {
		m.pic = newPic(g)
	}
	m.layoutVideo()
}

// videoOrigin is the screen cell (0-based) of the video area's top-left:
// inside the Patient video box, or the whole terminal in full screen.
func (m callModel) videoOrigin() (col, row int) {
	if m.fullscreen {
		return 0, 0
	}
	// The header and indicator lines, then the box's top edge; its left
	// edge.
	return 1, m.top + 3
}

// pictureOn reports whether the picture in real pixels is to be on the
// terminal now.
func (m callModel) pictureOn() bool {
	return m.pic != nil && m.videoOn && m.Active() && !m.covered && m.frame != nil && m.pic.surf.placed()
}

// placePicture fits the picture to the video area. A new placement is
// drawn at the sample after next: Bubble Tea draws the area's new cells in
// between, and a sixel or iTerm2 picture drawn before them would be drawn
// over.
func (m *callModel) placePicture() {
	if m.pic == nil {
		return
	}
	iw, ih := 0, 0
	if m.frame != nil {
		iw, ih = m.frame.Rect.Dx(), m.frame.Rect.Dy()
	}
	col, row := m.videoOrigin()
	areaH := m.videoAreaH
	if !m.fullscreen && m.coveredBelow > 0 {
		// The area starts on the call screen's fourth line.
		areaH = max(0, min(areaH, m.height-m.coveredBelow-3))
	}
	// A terminal scales kitty and iTerm2 pictures to their cells at no
	// cost to the link; a sixel picture is sent at the size it is shown,
	// so it is scaled up at most twice (four times the bytes), and not at
	// all under a budget.
	up := 8.0
	if m.graphics == GraphicsSixel {
		up = 2
		if m.pic.budget > 0 {
			up = 1
		}
	}
	if m.pic.surf.place(iw, ih, col, row, m.videoAreaW, areaH, up) {
		m.pic.settle = true
		m.pic.stale()
	}
}

// redrawPicture returns the command that draws the current frame, if the
// picture is on.
func (m *callModel) redrawPicture() tea.Cmd {
	if !m.pictureOn() {
		return nil
	}
	return m.pic.raw(m.pic.frame(m.frame, m.now()))
}

// pictureGone applies change, and returns what takes the picture off the
// terminal if change took it away or moved it: a repaint of the whole
// screen for sixel and iTerm2 pictures, which are pixels with no handle to
// delete them by. A kitty picture goes with its placeholder cells.
func (m *callModel) pictureGone(change func()) tea.Cmd {
	was := m.pictureOn()
	var before pixelSurface
	if m.pic != nil {
		before = m.pic.surf
	}
	change()
	if !was || m.pic == nil {
		return nil
	}
	m.pic.stale()
	moved := m.pic.surf.col != before.col || m.pic.surf.row != before.row || m.pic.surf.cols != before.cols || m.pic.surf.rows != before.rows
	if m.pictureOn() && !moved {
		return nil
	}
	if m.pictureOn() {
		m.pic.settle = true
	}
	if m.graphics == GraphicsKitty {
		if !m.pic.surf.direct {
			return nil // it goes with its placeholder cells
		}
		m.pic.shown = false
		return rawCmd(m.pic.surf.remove())
	}
	m.pic.shown = false
	return tea.ClearScreen
}

// removePicture returns what takes the picture off the terminal for good,
// at the end of a call.
func (m *callModel) removePicture() tea.Cmd {
	if m.pic == nil {
		return nil
	}
	m.pic.stale()
	if !m.pic.shown {
		return nil
	}
	m.pic.shown = false
	if m.graphics == GraphicsKitty {
		return rawCmd(m.pic.surf.remove())
	}
	return tea.ClearScreen
}

// SetCoveredBelow says how many of the call screen's last lines another
// pane (chat) lies over: the picture is placed above them.
func (m *callModel) SetCoveredBelow(lines int) tea.Cmd {
	if lines == m.coveredBelow {
		return nil
	}
	return m.pictureGone(func() {
		m.coveredBelow = lines
		m.placePicture()
	})
}

// SetCovered says whether another screen (help) is over the call screen.
func (m *callModel) SetCovered(covered bool) tea.Cmd {
	return m.pictureGone(func() { m.covered = covered })
}

// SetScreen sets the whole terminal's size and the screen row of the call
// screen's first line.
func (m *callModel) SetScreen(w, h, top int) {
	m.screenW, m.screenH, m.top = w, h, top
}

func (m callModel) now() time.Time {
	if m.clock != nil {
		return m.clock()
	}
	return time.Now()
}

// fullView draws the picture over the whole terminal with one status line
// under it: status when it is not empty (a question or an error), else who
// is on the call, for how long, the doctor's mic and camera and the way
// back.
func (m callModel) fullView(status string) string {
	st := m.styles
	lines := m.videoLines()
	var body string
	if lines == nil {
		body = fitBlock(m.videoBody(), m.videoAreaW, m.videoAreaH)
	} else {
		for i, l := range lines {
			if i > 0 {
				body += "\n"
			}
			body += l
		}
	}
	if status == "" {
		name := cut(m.patient.Name, 30)
		if name == "" {
			name = cut(m.patient.Address, 30)
		}
		left := " " + st.Heading.Render(name) + "  " + m.stateStyle().Render(m.stateWord()) + " " + st.Value.Render(formatClock(m.Duration())) +
			"  " + m.indicator(!m.micMuted, "mic on", "MIC MUTED") + " " + m.indicator(!m.cameraOff, "camera on", "CAMERA OFF")
		status = spread(left, st.Dim.Render("f back "), m.screenW)
	}
	return body + "\n" + fitLine(status, m.screenW)
}

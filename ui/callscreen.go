package ui

import (
	"fmt"
	"image"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

// historyLen is how many stats samples the graphs keep (one a second).
const historyLen = 120

// callModel is the call screen: who is called, the call's state and
// duration, the doctor's mic and camera, the stats panel with its graphs,
// the patient's video, and a line on who waits next.
type callModel struct {
	styles  Styles
	console Console
	id      int // tells this call's video samples from an earlier call's
	gen     int // the video sampling loop this model accepts samples from
	every   time.Duration
	patient waitingroom.Patient

	queue       []waitingroom.Patient // the waiting room's latest snapshot
	queueLine   string                // drawn when the snapshot, the time or the size change
	returnAfter time.Duration         // see Model.returnAfter

	state       call.State
	reason      call.EndReason
	connectedAt time.Time
	endedAt     time.Time
	asOf        time.Time

	stats    call.Stats
	hasStats bool
	path     call.Path // the selected candidate pair, from PathEvents and samples
	inHist   []float64
	outHist  []float64
	rttHist  []float64

	micMuted  bool
	cameraOff bool
	videoOn   bool

	frame        *image.RGBA
	frameSeq     uint64
	graphics     Graphics // how the picture is drawn: blocks, off, or real pixels through pic
	pic          *picture // the picture in real pixels; nil unless graphics.pixels()
	fullscreen   bool     // the picture takes the whole terminal
	covered      bool     // another screen (help) is over this one
	coveredBelow int      // lines at the foot another pane (chat) lies over
	overTitle    string   // the picture viewer's title, while it lies over the video area
	overLines    []string // and its lines, exactly the video area's size
	snapDir      string   // where snapshots go; "" for none
	clock        func() time.Time
	top          int // the screen row of the call screen's first line
	screenW      int // the whole terminal, for the full-screen picture
	screenH      int
	blocks       *halfBlocks
	video        string // frame drawn for the current video area
	statsPanel   string // the Network panel, drawn when the figures or the size change
	videoCols    int
	videoRows    int
	videoAreaW   int
	videoAreaH   int

	width, height int
}

// newCallModel returns the screen of call number id, to patient p, sampling
// the video from c every interval while it is shown; returnAfter is how long
// the screen stays once the call has ended (0: until Back).
func newCallModel(st Styles, c Console, id int, p waitingroom.Patient, videoOn bool, every, returnAfter time.Duration, now time.Time) callModel {
	return callModel{styles: st, console: c, id: id, patient: p, videoOn: videoOn, every: every, returnAfter: returnAfter, asOf: now}
}

// Init starts sampling the video if it is shown.
func (m callModel) Init() tea.Cmd {
	if m.videoOn && m.Active() {
		return frameCmd(m.console, m.id, m.gen, m.frameSeq, m.every)
	}
	return nil
}

// Update handles the call screen's keys and its video samples. Each sample
// re-arms the sampling while the video is shown and the call is on; hiding
// the video or the end of the call stops it, and a sample of a stopped loop
// is dropped.
func (m callModel) Update(msg tea.Msg, keys KeyMap) (callModel, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, keys.End):
			return m, hangupCmd(m.console)
		case key.Matches(msg, keys.Mute):
			m.micMuted = !m.micMuted
			return m, micCmd(m.console, m.micMuted)
		case key.Matches(msg, keys.Camera):
			m.cameraOff = !m.cameraOff
			return m, cameraCmd(m.console, m.cameraOff)
		case key.Matches(msg, keys.Video):
			clear := m.pictureGone(func() { m.ToggleVideo() })
			m.gen++
			return m, tea.Batch(m.Init(), clear)
		case key.Matches(msg, keys.Snapshot):
			if m.frame == nil || m.snapDir == "" {
				return m, nil
			}
			return m, snapshotCmd(m.console, m.snapDir, m.patient, m.frameSeq, m.now())
		case key.Matches(msg, keys.FullScreen):
			clear := m.pictureGone(func() {
				m.fullscreen = !m.fullscreen
				m.layoutVideo()
			})
			return m, clear
		}
	case frameMsg:
		if msg.call != m.id || msg.gen != m.gen {
			return m, nil
		}
		var raw tea.Cmd
		if msg.img != nil {
			raw = m.SetFrame(msg.img, msg.seq)
		} else {
			raw = m.redrawPicture()
		}
		return m, tea.Batch(m.Init(), raw)
	}
	return m, nil
}

// Active reports whether the call is being set up or is up: it has not
// ended.
func (m callModel) Active() bool { return m.state != call.StateEnded }

// SetSize sets the cells the screen may draw in.
func (m *callModel) SetSize(w, h int) {
	m.width, m.height = w, h
	m.layoutVideo()
	m.drawStats()
	m.drawQueue()
}

// SetTime moves the screen's clock, which drives the call duration and the
// queue line's times.
func (m *callModel) SetTime(now time.Time) {
	m.asOf = now
	m.drawQueue()
}

// SetQueue takes a snapshot of the waiting room, in arrival order, taken at
// now.
func (m *callModel) SetQueue(ps []waitingroom.Patient, now time.Time) {
	m.queue = ps
	m.SetTime(now)
}

// HandleState applies a state event of this call.
func (m *callModel) HandleState(ev call.StateEvent, now time.Time) {
	m.state = ev.State
	switch ev.State {
	case call.StateConnected:
		if m.connectedAt.IsZero() {
			m.connectedAt = now
		}
	case call.StateEnded:
		m.reason = ev.Reason
		m.endedAt = now
		m.frame, m.video = nil, ""
		m.fullscreen = false
		m.gen++ // stop the video sampling
		m.layoutVideo()
	}
	m.SetTime(now)
}

// HandleStats records a stats sample of this call.
func (m *callModel) HandleStats(s call.Stats) {
	m.stats, m.hasStats = s, true
	if s.Path.Known() {
		m.path = s.Path
	}
	push := func(h []float64, v float64) []float64 {
		h = append(h, v)
		if len(h) > historyLen {
			h = h[len(h)-historyLen:]
		}
		return h
	}
	m.inHist = push(m.inHist, float64(s.BitrateIn))
	m.outHist = push(m.outHist, float64(s.BitrateOut))
	m.rttHist = push(m.rttHist, float64(s.RTT))
	m.drawStats()
}

// HandlePath records the candidate pair ICE selected for this call; the
// stats panel shows it at once, not at the next sample.
func (m *callModel) HandlePath(p call.Path) {
	m.path = p
	if m.hasStats {
		m.drawStats()
	}
}

// SetFrame takes a new frame of the patient's video and draws it: in
// cells, or as the bytes of a picture, which the command returned writes.
func (m *callModel) SetFrame(img *image.RGBA, seq uint64) tea.Cmd {
	old := m.frame
	m.frame, m.frameSeq = img, seq
	if m.pic == nil {
		m.drawVideo()
		return nil
	}
	if old == nil || old.Rect.Size() != img.Rect.Size() {
		m.layoutVideo()
	}
	return m.redrawPicture()
}

// ToggleVideo shows or hides the video; a hidden video is not drawn at all.
func (m *callModel) ToggleVideo() {
	m.videoOn = !m.videoOn
	if !m.videoOn {
		m.video = ""
	} else {
		m.drawVideo()
	}
}

// Duration returns how long the call has been connected.
func (m callModel) Duration() time.Duration {
	if m.connectedAt.IsZero() {
		return 0
	}
	end := m.asOf
	if !m.endedAt.IsZero() {
		end = m.endedAt
	}
	return max(0, end.Sub(m.connectedAt))
}

// panelsHeight is the height of the video and stats boxes: the screen less
// the header, the indicators and the queue line.
func (m callModel) panelsHeight() int { return max(3, m.height-3) }

// layoutVideo computes the video area and redraws the frame for it.
func (m *callModel) layoutVideo() {
	if m.fullscreen {
		m.videoAreaW, m.videoAreaH = m.screenW, max(1, m.screenH-1)
	} else {
		m.videoAreaW = max(0, m.width-statsWidth(m.width)-2)
		m.videoAreaH = max(0, m.panelsHeight()-2)
	}
	if m.pic != nil {
		m.placePicture()
		return
	}
	m.drawVideo()
}

func (m *callModel) drawVideo() {
	if m.frame == nil || !m.videoOn || m.graphics == GraphicsOff {
		m.video = ""
		return
	}
	b := m.frame.Bounds()
	m.videoCols, m.videoRows = videoSize(b.Dx(), b.Dy(), m.videoAreaW, m.videoAreaH)
	if m.blocks == nil {
		m.blocks = &halfBlocks{}
	}
	m.video = m.blocks.Draw(m.frame, m.videoCols, m.videoRows)
}

// View draws the call screen: exactly as wide and as high as SetSize said
// (Model.View relies on it and does not cut it again).
func (m callModel) View() string {
	st := m.styles
	w := m.width
	name := cut(m.patient.Name, 30)
	if name == "" {
		name = "(no name)"
	}
	who := st.Heading.Render(name) + " " + st.Dim.Render("<"+cut(m.patient.Address, 40)+">")
	status := m.stateStyle().Render(m.stateWord()) + "  " + st.Value.Render(formatClock(m.Duration()))
	header := spread(who, status, w)

	ind := []string{
		m.indicator(!m.micMuted, "mic on", "MIC MUTED"),
		m.indicator(!m.cameraOff, "camera on", "CAMERA OFF"),
		m.indicator(m.videoOn, "video shown", "video hidden"),
	}
	indicators := spread(strings.Join(ind, "  "), st.Dim.Render(m.stateDetail()), w)

	out := header + "\n" + indicators + "\n" + besides(m.videoPanel(), m.statsPanel) + "\n" + m.queueLine
	if m.height < 3+m.panelsHeight() { // a terminal too short for the panels
		out = fitBlock(out, w, m.height)
	}
	return out
}

// drawQueue draws the queue line: how many wait and who is next, the first
// waiting patient in arrival order, with how long they have waited; once the
// call has ended, when the waiting room comes back. It is drawn here, once a
// second, and not in View, which runs for every video frame.
func (m *callModel) drawQueue() {
	st := m.styles
	n, next := 0, waitingroom.Patient{}
	for _, p := range m.queue {
		// The patient of a call still on may be waiting again (they
		// rejoined before the call ended): they are not next.
		if p.State != waitingroom.StateWaiting || (m.Active() && p.Address == m.patient.Address) {
			continue
		}
		if n == 0 {
			next = p
		}
		n++
	}
	left := st.Label.Render("Queue ")
	if n == 0 {
		left += st.Dim.Render("no one waiting")
	} else {
		name := cut(next.Name, 30)
		if name == "" {
			name = cut(next.Address, 30)
		}
		left += st.Value.Render(fmt.Sprintf("%d waiting", n)) + st.Dim.Render(" | next ") +
			st.Heading.Render(name) + st.Dim.Render(", waiting "+formatWait(next.Waited(m.asOf)))
	}
	var right string
	if !m.Active() && m.returnAfter > 0 && !m.endedAt.IsZero() {
		rest := max(0, m.endedAt.Add(m.returnAfter).Sub(m.asOf))
		// Rounded to the nearest second, as the line is drawn once a
		// second at no particular phase; never 0, as the screen is
		// still up.
		secs := max(1, int((rest+time.Second/2)/time.Second))
		right = st.Dim.Render(fmt.Sprintf("waiting room in %ds", secs))
	}
	m.queueLine = spread(left, right, m.width)
}

// videoPanel draws the Patient video panel.
func (m callModel) videoPanel() string {
	vw, h := m.width-statsWidth(m.width), m.panelsHeight()
	if m.overLines != nil && vw >= 2 {
		return boxLines(m.styles.Border, m.overTitle, m.overLines, vw)
	}
	if lines := m.videoLines(); lines != nil && vw >= 2 {
		return boxLines(m.styles.Border, "Patient video", lines, vw)
	}
	return box(m.styles.Border, "Patient video", m.videoBody(), vw, h)
}

// videoLines returns the drawn frame centred in the video area, as lines of
// exactly its width, or nil when there is no frame to show.
func (m callModel) videoLines() []string {
	if m.pictureOn() {
		col, row := m.videoOrigin()
		return m.pic.surf.lines(col, row, m.videoAreaW, m.videoAreaH)
	}
	if !m.videoOn || m.state == call.StateEnded || m.video == "" {
		return nil
	}
	aw, ah := m.videoAreaW, m.videoAreaH
	left := max(0, (aw-m.videoCols)/2)
	right := max(0, aw-left-m.videoCols)
	top := max(0, (ah-m.videoRows)/2)
	blank := strings.Repeat(" ", aw)
	lines := make([]string, 0, ah)
	for range top {
		lines = append(lines, blank)
	}
	padL, padR := strings.Repeat(" ", left), strings.Repeat(" ", right)
	for l := range strings.SplitSeq(m.video, "\n") {
		if len(lines) == ah {
			break
		}
		lines = append(lines, padL+l+padR)
	}
	for len(lines) < ah {
		lines = append(lines, blank)
	}
	return lines
}

func (m callModel) indicator(on bool, onText, offText string) string {
	if on {
		return m.styles.Good.Render("[" + onText + "]")
	}
	return m.styles.Bad.Render("[" + offText + "]")
}

// stateWord is the call state in the words the doctor reads: "Calling",
// "Connecting", "Connected", "Reconnecting", or "Ended: <reason>".
func (m callModel) stateWord() string {
	switch m.state {
	case call.StateUnknown:
		return "Starting"
	case call.StateEnded:
		return "Ended: " + m.reason.String()
	default:
		return m.state.String()
	}
}

// stateDetail says what the state means for the doctor.
func (m callModel) stateDetail() string {
	switch m.state {
	case call.StateUnknown:
		return "sending offer"
	case call.StateCalling:
		return "offer sent, ringing"
	case call.StateConnecting:
		return "answer received, connecting"
	case call.StateConnected:
		return "media flowing"
	case call.StateReconnecting:
		return "network trouble, restarting ICE"
	default:
		return "call over"
	}
}

func (m callModel) stateStyle() lipgloss.Style {
	switch m.state {
	case call.StateConnected:
		return m.styles.Good.Bold(true)
	case call.StateReconnecting:
		return m.styles.Warn.Bold(true)
	case call.StateEnded:
		if m.reason == call.EndHangup || m.reason == call.EndRemoteBye {
			return m.styles.Value.Bold(true)
		}
		return m.styles.Bad
	default:
		return m.styles.Warn
	}
}

// videoBody is the Patient video panel's text while no frame is shown.
func (m callModel) videoBody() string {
	st := m.styles
	mid := func(s string) string {
		return strings.Repeat("\n", max(0, m.videoAreaH/2-1)) + st.Dim.Render(center(s, m.videoAreaW))
	}
	switch {
	case m.graphics == GraphicsOff:
		return mid("video off (--video off)")
	case !m.videoOn:
		return mid("video hidden (v to show)")
	case m.state == call.StateEnded:
		return mid("call ended")
	default:
		return mid("waiting for video")
	}
}

// formatClock writes a call duration as "03:12" or "1:03:12".
func formatClock(d time.Duration) string {
	s := int(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"teleconsole/call"
)

// screen is which child model has the screen.
type screen int

const (
	screenWaiting screen = iota
	screenCall
)

// Model is the console's root model: which screen is up, the child models,
// the keys and styles they share, and the last error. It holds no I/O: every
// call on the Console goes through a tea.Cmd.
type Model struct {
	console      Console
	info         Info
	clock        func() time.Time
	poll         time.Duration
	videoEvery   time.Duration
	videoDefault bool
	returnAfter  time.Duration // an ended call's screen stays this long; 0: until Back

	baseKeys KeyMap // as configured
	keys     KeyMap // baseKeys set for the current context
	styles   Styles

	width, height int
	screen        screen
	helpOpen      bool
	confirming    bool
	waiting       waitingModel
	call          callModel
	help          helpModel
	calls         int  // calls started, to number them
	settling      bool // the waiting room came back by itself a moment ago: Enter does not call
	err           error
	notice        string // a line of news for the doctor (where a snapshot went)

	graphics     Graphics // as configured; GraphicsAuto asks the terminal
	inForce      Graphics // as decided
	term         Terminal
	probe        probe
	cellW, cellH int
	budget       int // bytes a second for pictures on a remote terminal
	snapDir      string
}

// returnGrace is how long after the waiting room came back by itself Enter
// does not call the selected patient: a doctor who presses Enter to go back
// just as the screen returns on its own would otherwise call someone.
const returnGrace = time.Second

// New returns the console's model driving c, with info in its status bar.
// Run it with tea.NewProgram; the waiting room shows at once and fills in
// from the first read of c.Patients.
func New(c Console, info Info, opts ...Option) Model {
	m := Model{
		console:      c,
		info:         info,
		clock:        time.Now,
		poll:         time.Second,
		videoEvery:   time.Second / 10,
		videoDefault: true,
		returnAfter:  5 * time.Second,
		keys:         DefaultKeyMap(),
		styles:       DefaultStyles(),
		width:        80,
		height:       24,
		budget:       200 * 1000,
		cellW:        defaultCellW,
		cellH:        defaultCellH,
	}
	for _, o := range opts {
		o(&m)
	}
	m.baseKeys = m.keys
	m.inForce = m.graphics
	if m.graphics == GraphicsAuto {
		m.inForce = GraphicsBlocks // until the terminal answers
	}
	m.waiting = newWaitingModel(m.styles)
	m.help = newHelpModel(m.styles, m.returnAfter)
	m.call = callModel{styles: m.styles, state: call.StateEnded} // no call yet
	m.setSize(m.width, m.height)
	m.refreshKeys()
	return m
}

// Init reads the waiting room and starts waiting for call events; neither
// blocks the first view.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{fetchPatientsCmd(m.console, m.clock), waitEventCmd(m.console.Events()), cellSizeCmd(m.term)}
	switch {
	case m.graphics == GraphicsAuto:
		cmds = append(cmds, probeCmd(m.term))
	case m.graphics.pixels():
		cmds = append(cmds, tea.Raw(ansi.WindowOp(requestCellSize)))
	}
	return tea.Batch(cmds...)
}

// Err returns the error the console shows, or nil.
func (m Model) Err() error { return m.err }

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	wasActive := m.screen == screenCall && m.call.Active()
	var cmd tea.Cmd
	if m.probe.handle(msg) {
		if m.probe.done && m.graphics == GraphicsAuto && m.inForce == GraphicsBlocks {
			m.inForce = m.probe.decide(m.term)
			m.call.setGraphics(m.inForce, m.newPicture)
		}
	}
	if w, h, ok := cellFromEvent(msg); ok {
		m.setCell(w, h)
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		cmd = cellSizeCmd(m.term)
	case cellSizeMsg:
		m.setCell(msg.w, msg.h)
	case snapshotMsg:
		if msg.err != nil {
			m.err = msg.err
		} else {
			m.err, m.notice = nil, "Snapshot saved: "+msg.path
		}
	case tea.KeyPressMsg:
		m, cmd = m.handleKey(msg)
	case patientsMsg:
		m.waiting.SetPatients(msg.patients, msg.at)
		m.call.SetQueue(msg.patients, msg.at)
		cmd = pollPatientsCmd(m.console, m.clock, m.poll)
	case eventMsg:
		m.handleEvent(msg.ev)
		cmd = waitEventCmd(m.console.Events())
	case eventsClosedMsg:
		m.err = errors.New("call engine stopped: no more call events")
	case callStartedMsg:
		if msg.err != nil && m.screen == screenCall && m.call.patient.Address == msg.address && m.call.Active() {
			m.err = fmt.Errorf("call failed: %w", msg.err)
			m.call.HandleState(call.StateEvent{Peer: msg.address, State: call.StateEnded, Reason: call.EndFailed}, m.clock())
		}
	case frameMsg:
		m.call, cmd = m.call.Update(msg, m.keys)
	case returnMsg:
		if m.screen == screenCall && m.call.id == msg.call && !m.call.Active() {
			m.screen = screenWaiting
			m.waiting.SelectNext()
			m.settling = true
			cmd = settleCmd(msg.call, returnGrace)
		}
	case settledMsg:
		if msg.call == m.call.id {
			m.settling = false
		}
	}
	if wasActive && !m.call.Active() {
		cmd = tea.Batch(cmd, m.callEnded(), m.call.removePicture())
	}
	m.refreshKeys()
	return m, cmd
}

// handleKey acts on a key press through the key map.
func (m Model) handleKey(msg tea.KeyPressMsg) (Model, tea.Cmd) {
	k := m.keys
	callActive := m.screen == screenCall && m.call.Active()
	switch {
	case key.Matches(msg, k.ForceQuit):
		if callActive {
			return m, hangupAndQuitCmd(m.console)
		}
		return m, tea.Quit
	case m.confirming:
		switch {
		case key.Matches(msg, k.Yes):
			m.confirming = false
			return m, hangupAndQuitCmd(m.console)
		case key.Matches(msg, k.No):
			m.confirming = false
		}
		return m, nil
	case key.Matches(msg, k.Quit):
		if callActive {
			m.confirming = true
			return m, nil
		}
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.helpOpen = !m.helpOpen
		return m, m.call.SetCovered(m.helpOpen)
	case m.helpOpen && msg.String() == "esc":
		m.helpOpen = false
		return m, m.call.SetCovered(false)
	}
	m.notice = ""

	if m.screen == screenWaiting {
		if key.Matches(msg, k.Call) {
			return m.startCall()
		}
		m.waiting = m.waiting.Update(msg, k)
		return m, nil
	}

	if key.Matches(msg, k.Back) {
		m.screen = screenWaiting
		m.helpOpen = false
		m.call.covered = false
		m.waiting.SelectNext()
		return m, nil
	}
	var cmd tea.Cmd
	m.call, cmd = m.call.Update(msg, k)
	return m, cmd
}

// startCall switches to the call screen for the selected patient and asks
// the console to call them.
func (m Model) startCall() (Model, tea.Cmd) {
	p, ok := m.waiting.Selected()
	if !ok {
		return m, nil
	}
	if !p.State.Callable() {
		m.err = fmt.Errorf("cannot call %s now: %s", cut(p.Name, 30), p.State)
		return m, nil
	}
	m.err = nil
	m.helpOpen = false
	m.screen = screenCall
	m.calls++
	m.waiting.SetLastCall("") // the line is kept only until the next call starts
	m.notice = ""
	every := m.videoEvery
	if m.inForce.pixels() && every == time.Second/10 {
		// A sample is taken a period after the last one was drawn, so
		// ten a second leave about nine pictures: twelve keep ten.
		every = time.Second / 12
	}
	m.call = newCallModel(m.styles, m.console, m.calls, p, m.videoDefault, every, m.returnAfter, m.clock())
	m.call.clock, m.call.snapDir = m.clock, m.snapDir
	m.call.SetQueue(m.waiting.patients, m.clock())
	m.call.SetScreen(m.width, m.height, 1)
	m.call.SetSize(m.contentSize())
	m.call.setGraphics(m.inForce, m.newPicture)
	return m, tea.Batch(startCallCmd(m.console, p.Address), m.call.Init())
}

// callEnded keeps the summary of the call that just ended for the waiting
// room, and starts the wait for the waiting room to come back by itself.
func (m *Model) callEnded() tea.Cmd {
	name := m.call.patient.Name
	if name == "" {
		name = m.call.patient.Address
	}
	m.waiting.SetLastCall(fmt.Sprintf("Last call: %s, %s, %s", cut(name, 30), formatLength(m.call.Duration()), m.call.reason))
	if m.returnAfter <= 0 {
		return nil
	}
	return returnCmd(m.call.id, m.returnAfter)
}

// handleEvent applies an engine event to the call on screen; events of any
// other call (a late event of an earlier one) are dropped.
func (m *Model) handleEvent(ev call.Event) {
	if m.screen != screenCall {
		return
	}
	switch ev := ev.(type) {
	case call.StateEvent:
		if ev.Peer != m.call.patient.Address || !m.call.Active() {
			return
		}
		m.call.HandleState(ev, m.clock())
		if ev.State == call.StateEnded && ev.Err != nil {
			m.err = fmt.Errorf("%s: %w", ev.Reason, ev.Err)
		}
	case call.StatsEvent:
		if ev.Peer == m.call.patient.Address && m.call.Active() {
			m.call.HandleStats(ev.Stats)
		}
	}
}

// refreshKeys sets the key map for the current context.
func (m *Model) refreshKeys() {
	p, ok := m.waiting.Selected()
	m.keys = m.baseKeys.inContext(keyContext{
		screen:     m.screen,
		callActive: m.screen == screenCall && m.call.Active(),
		confirming: m.confirming,
		helpOpen:   m.helpOpen,
		canCall:    ok && p.State.Callable() && !m.settling,
		autoReturn: m.returnAfter > 0,
		patients:   len(m.waiting.patients),
		micMuted:   m.call.micMuted,
		cameraOff:  m.call.cameraOff,
		videoOn:    m.call.videoOn,
		fullscreen: m.call.fullscreen,
		canSnap:    m.snapDir != "" && m.call.frame != nil && m.call.videoOn,
	})
}

// newPicture makes the call screen's picture in real pixels in mode g.
func (m Model) newPicture(g Graphics) *picture {
	budget := 0
	if m.term.Remote {
		budget = m.budget
	}
	return newPicture(g, m.term.Tmux, m.cellW, m.cellH, budget, m.term.Busy, m.term.Written)
}

// setCell takes the terminal's cell size in pixels.
func (m *Model) setCell(w, h int) {
	if w == m.cellW && h == m.cellH {
		return
	}
	m.cellW, m.cellH = w, h
	if m.call.pic != nil {
		m.call.pic.surf.cellW, m.call.pic.surf.cellH = w, h
		m.call.layoutVideo()
	}
}

// Lines around the content: the title, the message line, the help line and
// the status bar.
const chromeLines = 4

func (m Model) contentSize() (int, int) {
	return m.width, max(3, m.height-chromeLines)
}

func (m *Model) setSize(w, h int) {
	m.width, m.height = max(20, w), max(chromeLines+3, h)
	cw, ch := m.contentSize()
	m.waiting.SetSize(cw, ch)
	m.call.SetScreen(m.width, m.height, 1)
	m.call.SetSize(cw, ch)
	m.help.SetSize(cw, ch)
}

// View draws the whole screen: exactly the window's height, and no line
// wider than it.
func (m Model) View() tea.View {
	st := m.styles
	w := m.width
	_, ch := m.contentSize()

	var heading, content string
	switch {
	case m.helpOpen:
		heading, content = "Help", fitBlock(m.help.View(m.keys), w, ch)
	case m.screen == screenCall:
		// Already w by ch: the call screen is drawn 10 times a second
		// with the video, and measuring its lines again costs more
		// than drawing them.
		heading, content = "Call", m.call.View()
	default:
		heading, content = "Waiting room", fitBlock(m.waiting.View(), w, ch)
	}
	title := spread(st.Title.Render(" teleconsole ")+" "+st.Heading.Render(heading),
		st.Dim.Render(cut(m.info.Doctor, 40)), w)

	var msgLine string
	switch {
	case m.confirming:
		msgLine = st.Prompt.Render(fitLine(" A call is on. Hang up and quit? y/n", w))
	case m.err != nil:
		msgLine = st.Error.Render(fitLine(" "+cut(m.err.Error(), w-1), w))
	case m.notice != "":
		msgLine = st.Good.Render(fitLine(" "+cut(m.notice, w-1), w))
	}
	if m.screen == screenCall && m.call.fullscreen && !m.helpOpen {
		v := tea.NewView(m.call.fullView(msgLine))
		v.AltScreen = true
		v.WindowTitle = "teleconsole"
		return v
	}

	lines := []string{
		fitLine(title, w),
		content,
		fitLine(msgLine, w),
		fitLine(m.help.ShortView(m.keys), w),
		m.statusBar(),
	}
	v := tea.NewView(strings.Join(lines, "\n"))
	v.AltScreen = true
	v.WindowTitle = "teleconsole"
	return v
}

// statusBar draws the bottom line: endpoint, doctor, signatures, media and
// video. When the labelled line does not fit, the labels go first, but for
// the media's and the video's, which a bare "synthetic" or "sixel" would not
// explain; then the endpoint, which the log has.
func (m Model) statusBar() string {
	line := func(labels, endpoint bool) string {
		var parts []string
		add := func(label, v string) {
			if v == "" {
				return
			}
			if labels || label == "media " || label == "video " || label == "audio " {
				v = label + v
			}
			parts = append(parts, cut(v, 40))
		}
		if endpoint {
			add("endpoint ", m.info.Endpoint)
		}
		add("doctor ", m.info.Doctor)
		add("", m.info.Verify)
		// Before media, whose words are long: what runs on the microphone
		// stays on an 80-column screen.
		add("audio ", m.info.Audio)
		add("media ", m.info.Media)
		add("video ", m.videoWords())
		return " " + strings.Join(parts, " | ")
	}
	s := line(true, true)
	if ansi.StringWidth(s) > m.width {
		s = line(false, true)
	}
	if ansi.StringWidth(s) > m.width {
		s = line(false, false)
	}
	return m.styles.StatusBar.Render(fitLine(s, m.width))
}

// videoWords says in the status bar how the picture is drawn, and during a
// call in real pixels what it costs.
func (m Model) videoWords() string {
	s := m.inForce.String()
	if m.screen == screenCall && m.call.pictureOn() {
		s += " " + m.call.pic.describe(m.clock())
	} else if m.term.Remote && m.inForce.pixels() && m.budget > 0 {
		s += " (SSH, " + formatBytesRate(m.budget) + ")"
	}
	return s
}

package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
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
	theme    Theme // as configured; ThemeAuto asks the terminal
	noColor  bool  // NO_COLOR: no palette but the terminal's own colours
	few      bool  // the terminal has 16 colours or none: as NO_COLOR
	answered bool  // the terminal said its background colour
	dark     bool  // and it is dark
	styled   bool  // WithStyles: the caller's styles, whatever the terminal says

	width, height int
	screen        screen
	helpOpen      bool
	confirming    bool
	waiting       waitingModel
	call          callModel
	help          helpModel
	chat          chatModel
	history       historyModel
	day           *dayModel // nil: the console takes no bookings
	rx            rxModel
	viewer        viewerModel
	alerts        <-chan error
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
		notice:       info.Kept,
		clock:        time.Now,
		poll:         time.Second,
		videoEvery:   time.Second / 10,
		videoDefault: true,
		returnAfter:  5 * time.Second,
		keys:         DefaultKeyMap(),
		width:        80,
		height:       24,
		budget:       200 * 1000,
		cellW:        defaultCellW,
		cellH:        defaultCellH,
		chat:         newChatModel(DefaultStyles()),
	}
	for _, o := range opts {
		o(&m)
	}
	if !m.styled {
		m.styles = m.palette()
	}
	m.chat.setStyles(m.styles)
	m.history.styles = m.styles
	if m.day != nil {
		m.day.styles = m.styles
	}
	m.rx.styles = m.styles
	m.baseKeys = m.keys
	m.inForce = m.graphics
	if m.graphics == GraphicsAuto {
		m.inForce = GraphicsBlocks // until the terminal answers
	}
	m.waiting = newWaitingModel(m.styles)
	if d := m.day; d != nil {
		m.waiting.bookNote = d.noteFor
	}
	if p := m.viewer.photos; p != nil {
		// The short help has no room for the photo's key at 80 columns:
		// the line on the selected patient names it.
		hint := " (" + m.baseKeys.Photo.Help().Key + ")"
		m.waiting.photoNote = func(addr string) string { return p.PhotoNote(addr) + hint }
	}
	m.help = newHelpModel(m.styles, m.returnAfter)
	m.call = callModel{styles: m.styles, state: call.StateEnded} // no call yet
	m.setSize(m.width, m.height)
	m.viewer.setGraphics(m.inForce, m.newPicture)
	m.refreshKeys()
	return m
}

// palette is the palette in force: none for NO_COLOR or a terminal of 16
// colours (whose shades are its theme's, unknown to the console), else the
// theme asked for, or the one for the background the terminal said, or
// until it says one that reads on both.
func (m Model) palette() Styles {
	switch {
	case m.noColor || m.few:
		return PlainStyles()
	case m.theme == ThemeLight:
		return ThemeStyles(false)
	case m.theme == ThemeDark:
		return ThemeStyles(true)
	case m.answered:
		return ThemeStyles(m.dark)
	}
	return NeutralStyles()
}

// asksBackground says whether the terminal's background colour picks the
// palette.
func (m Model) asksBackground() bool {
	return m.theme == ThemeAuto && !m.noColor && !m.styled
}

// setStyles hands st to every screen.
func (m *Model) setStyles(st Styles) {
	m.styles = st
	m.waiting.styles = st
	m.call.styles = st
	m.help.styles = st
	m.help.help.Styles = st.Help
	m.chat.setStyles(st)
	m.history.styles = st
	if m.day != nil {
		m.day.styles = st
	}
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
	if m.asksBackground() {
		cmds = append(cmds, tea.RequestBackgroundColor)
	}
	if m.chat.enabled() {
		cmds = append(cmds, waitChatCmd(m.chat.chatter.ChatEvents()))
	}
	if m.alerts != nil {
		cmds = append(cmds, waitAlertCmd(m.alerts))
	}
	return tea.Batch(cmds...)
}

// Err returns the error the console shows, or nil.
func (m Model) Err() error { return m.err }

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	wasActive := m.screen == screenCall && m.call.Active()
	var cmd, pre tea.Cmd
	if m.probe.handle(msg) {
		if m.probe.done && m.graphics == GraphicsAuto && m.inForce == GraphicsBlocks {
			m.inForce = m.probe.decide(m.term)
			m.call.setGraphics(m.inForce, m.newPicture)
			pre = m.viewer.setGraphics(m.inForce, m.newPicture)
		}
	}
	if w, h, ok := cellFromEvent(msg); ok {
		m.setCell(w, h)
	}
	switch msg := msg.(type) {
	case tea.BackgroundColorMsg:
		m.answered, m.dark = true, msg.IsDark()
		if !m.styled {
			m.setStyles(m.palette())
		}
	case tea.ColorProfileMsg:
		m.few = msg.Profile == colorprofile.ASCII || msg.Profile == colorprofile.ANSI
		if !m.styled {
			m.setStyles(m.palette())
		}
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
		if m.day != nil {
			// Read at every poll, open or not: the waiting room says who
			// is booked and who walked in.
			m.day.setPatients(msg.patients)
			cmd = tea.Batch(cmd, m.day.poll(m.clock()))
		}
	case dayMsg:
		if m.day != nil {
			if err := m.day.loaded(msg); err != nil {
				m.err = err
			}
		}
	case dayDoneMsg:
		if m.day != nil {
			var err error
			if cmd, err = m.day.done(msg); err != nil {
				m.err = err
			} else {
				m.err = nil
			}
		}
	case eventMsg:
		m.handleEvent(msg.ev)
		cmd = waitEventCmd(m.console.Events())
	case chatEventMsg:
		m.chat.add(msg.m, m.chatViewing())
		m.waiting.SetUnread(m.chat.unread)
		cmd = waitChatCmd(m.chat.chatter.ChatEvents())
	case chatFailedMsg:
		m.err = msg.err
	case notesSavedMsg:
		cmd = m.chat.saved()
	case historyMsg:
		if msg.err != nil {
			m.err = fmt.Errorf("history: %w", msg.err)
		}
		m.history.loaded(msg)
	case detailMsg:
		if msg.err != nil {
			m.err = fmt.Errorf("history: %w", msg.err)
		} else if m.history.open {
			m.history.detail = &msg.d
		}
	case copiedMsg:
		if msg.err != nil {
			m.err = fmt.Errorf("the patient's copy: %w", msg.err)
		} else {
			m.err, m.notice = nil, "Patient's copy saved: "+msg.path
		}
	case rxFormMsg:
		if msg.err != nil {
			m.err, m.rx.open = fmt.Errorf("prescription: %w", msg.err), false
		}
		m.rx, cmd = m.rx.formRead(msg)
	case rxCheckedMsg:
		if msg.addr == m.rx.peer {
			m.rx.problems, m.rx.notes = msg.problems, msg.notes
		}
	case rxSignedMsg:
		m.rx.signing = false
		if msg.err != nil {
			m.err = msg.err
		} else {
			m.err, m.notice, m.rx.open = nil, msg.what, false
		}
	case pictureLoadedMsg:
		m.viewer.loaded(msg)
	case pictureFitMsg:
		cmd = m.viewer.fitted(msg)
	case pictureDrawMsg:
		cmd = m.viewer.draw(msg)
	case alertMsg:
		m.err = msg.err
		cmd = waitAlertCmd(m.alerts)
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
	if m.screen == screenCall {
		// The chat pane lies over the call screen's last lines: the
		// picture keeps above it.
		cmd = tea.Batch(cmd, m.call.SetCoveredBelow(m.chatPaneHeight()))
	}
	if sync := m.syncViewer(); sync != nil || pre != nil {
		cmd = tea.Batch(pre, cmd, sync)
	}
	m.refreshKeys()
	return m, cmd
}

// chatPaneHeight is how many of the content's last lines the chat pane
// covers now (withChat).
func (m Model) chatPaneHeight() int {
	if !m.chat.enabled() || (m.screen == screenWaiting && !m.chat.open()) {
		return 0
	}
	addr := m.chatTarget()
	if addr == "" {
		return 0
	}
	_, ch := m.contentSize()
	if m.screen == screenCall && ch > 1 {
		// Above the queue line (View): it covers that many lines and
		// the queue line below them is the picture's too.
		if ph := m.chat.height(addr, ch-1); ph > 0 {
			return ph + 1
		}
		return 0
	}
	return m.chat.height(addr, ch)
}

// cutLastLine splits a block into its lines but the last, and the last.
func cutLastLine(block string) (rest, last string, ok bool) {
	i := strings.LastIndexByte(block, '\n')
	if i < 0 {
		return "", "", false
	}
	return block[:i], block[i+1:], true
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
	case m.day != nil && m.day.open && !m.confirming && (m.day.prompt != dayNoPrompt || !key.Matches(msg, k.Quit) && !key.Matches(msg, k.Help)):
		cmd, addr := m.day.update(msg, k)
		if addr == "" {
			return m, cmd
		}
		m.waiting.selectAddress(addr)
		return m.startCall()
	case m.history.open && !m.confirming && !key.Matches(msg, k.Quit) && !key.Matches(msg, k.Help):
		var cmd tea.Cmd
		m.history, cmd = m.history.update(msg, k, m.waitingAddress())
		return m, cmd
	case m.rx.open && !m.confirming:
		var cmd tea.Cmd
		m.rx, cmd = m.rx.update(msg, k)
		return m, cmd
	case key.Matches(msg, k.Prescribe):
		var cmd tea.Cmd
		m.err = nil
		m.rx, cmd = m.rx.start(m.chatTarget(), m.targetName())
		return m, cmd
	case key.Matches(msg, k.Day):
		return m, m.day.start(m.clock())
	case m.chat.open() && !m.confirming:
		var cmd tea.Cmd
		m.chat, cmd = m.chat.update(msg, k)
		return m, cmd
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
	case m.viewer.visible && key.Matches(msg, k.CloseInput):
		return m, m.viewer.close()
	case m.viewer.visible && (key.Matches(msg, k.PrevPicture) || key.Matches(msg, k.NextPicture)):
		return m, m.stepPicture(key.Matches(msg, k.NextPicture))
	case key.Matches(msg, k.Photo):
		return m, m.viewer.openPhoto(m.chatTarget(), m.targetName(), m.screen)
	case key.Matches(msg, k.Picture):
		pics := m.chat.pictures(m.chatTarget())
		if len(pics) == 0 {
			return m, nil
		}
		return m, m.viewer.openFile(pics[len(pics)-1], m.targetName(), m.screen)
	case key.Matches(msg, k.History):
		var cmd tea.Cmd
		m.history, cmd = m.history.start()
		return m, cmd
	case key.Matches(msg, k.Chat), key.Matches(msg, k.Attach), key.Matches(msg, k.Notes):
		mode := chatTyping
		if key.Matches(msg, k.Attach) {
			mode = chatAttaching
		} else if key.Matches(msg, k.Notes) {
			mode = chatNotes
		}
		var cmd tea.Cmd
		m.chat, cmd = m.chat.start(mode, m.chatTarget())
		m.waiting.SetUnread(m.chat.unread)
		return m, cmd
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
	case call.PathEvent:
		if ev.Peer == m.call.patient.Address && m.call.Active() {
			m.call.HandlePath(ev.Path)
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
		chat:       m.chat.enabled() && m.chatTarget() != "",
		input:      m.chat.mode,
		history:    m.history.source != nil,
		inHistory:  m.history.open,
		rx:         m.rx.source != nil && m.chatTarget() != "",
		inRx:       m.rx.open,
		canCopy:    m.history.copier() != nil,
		inDetail:   m.history.detail != nil,
		filtered:   m.history.patient != "",
		micMuted:   m.call.micMuted,
		cameraOff:  m.call.cameraOff,
		videoOn:    m.call.videoOn,
		fullscreen: m.call.fullscreen,
		canSnap:    m.snapDir != "" && m.call.frame != nil && m.call.videoOn,
		photos:     m.viewer.photos != nil && m.chatTarget() != "",
		pictures:   m.chat.pictureCount(m.chatTarget()),
		viewing:    m.viewer.visible,
		browsing:   m.viewer.kind == viewerFile && m.chat.pictureCount(m.viewer.peer) > 1,
		day:        m.day != nil,
		inDay:      m.day != nil && m.day.open,
		dayPrompt:  m.day != nil && m.day.prompt != dayNoPrompt,
	})
}

// newPicture makes the call screen's picture in real pixels in mode g.
func (m Model) newPicture(g Graphics) *picture {
	budget := 0
	if m.term.Remote {
		budget = m.budget
	}
	return newPicture(g, m.term.Tmux, m.probe.direct(), m.cellW, m.cellH, budget, m.term.Busy, m.term.Written)
}

// setCell takes the terminal's cell size in pixels.
func (m *Model) setCell(w, h int) {
	if w == m.cellW && h == m.cellH {
		return
	}
	m.cellW, m.cellH = w, h
	if m.viewer.pic != nil {
		m.viewer.pic.surf.cellW, m.viewer.pic.surf.cellH = w, h
		m.viewer.dirty = true
	}
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
	m.chat.setWidth(cw)
	m.rx.setSize(cw, ch)
	m.history.rows = m.history.listRows(ch)
}

// chatTarget is the patient the chat keys are for: the one called, else
// the one selected.
func (m Model) chatTarget() string {
	if m.screen == screenCall {
		return m.call.patient.Address
	}
	if p, ok := m.waiting.Selected(); ok {
		return p.Address
	}
	return ""
}

// waitingAddress is the waiting room's selected patient, or "".
func (m Model) waitingAddress() string {
	if p, ok := m.waiting.Selected(); ok {
		return p.Address
	}
	return ""
}

// chatViewing is the patient whose chat is on screen, or "".
func (m Model) chatViewing() string {
	addr := m.chatTarget()
	if addr == "" || m.helpOpen || m.history.open || (m.screen == screenWaiting && !m.chat.open()) {
		return ""
	}
	return addr
}

// withChat draws the chat pane for the chat's patient over the bottom of
// a w by h content block: always in a call, and in the waiting room while
// the doctor has it open (the list stays whole otherwise; unread marks say
// who wrote).
func (m Model) withChat(block string, w, h int) string {
	if !m.chat.enabled() || (m.screen == screenWaiting && !m.chat.open()) {
		return block
	}
	addr := m.chatTarget()
	ph := m.chat.height(addr, h)
	if addr == "" || ph == 0 {
		return block
	}
	return overlay(block, m.chat.view(addr, w, ph))
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
	case m.history.open:
		heading, content = "History", m.history.view(w, ch)
	case m.day != nil && m.day.open:
		heading, content = "The day", m.day.view(w, ch, m.clock())
	case m.rx.open:
		heading, content = "Prescription", m.rx.view(w, ch)
	case m.screen == screenCall:
		// Already w by ch: the call screen is drawn 10 times a second
		// with the video, and measuring its lines again costs more
		// than drawing them.
		c := m.call
		if m.viewer.visible {
			c.overTitle, c.overLines = m.viewer.boxTitle(m.picturePos()), m.viewer.lines(m.styles, c.videoAreaW, c.videoAreaH)
		}
		// The chat pane lies above the queue line, which stays in
		// sight: who waits, and who is next.
		heading, content = "Call", c.View()
		if body, queue, ok := cutLastLine(content); ok && ch > 1 {
			content = m.withChat(body, w, ch-1) + "\n" + queue
		}
	case m.viewer.visible:
		heading, content = "Waiting room", m.withChat(m.viewerBox(w, ch), w, ch)
	default:
		heading, content = "Waiting room", m.withChat(fitBlock(m.waiting.View(), w, ch), w, ch)
	}
	right := st.Dim.Render(cut(m.info.Doctor, 40))
	if m.info.Record != "" {
		right = st.Warn.Render(m.info.Record) + "  " + right
	}
	left := st.Title.Render(" teleconsole ") + " " + st.Heading.Render(heading)
	if k := st.Dim.Render(m.info.Kept) + "  "; m.info.Kept != "" && ansi.StringWidth(left)+ansi.StringWidth(k)+ansi.StringWidth(right) < w {
		right = k + right
	}
	title := spread(left, right, w)

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

// statusBar draws the bottom line: endpoint (or the hub and its state),
// doctor, signatures, audio, media and video. When it does not fit, it gives
// up in this order: the labels, but for audio's, media's and video's, which a
// bare "off" or "synthetic" would not explain; the doctor, whom the title
// line names too; the length of the media's words, and the video's when
// they say only "blocks", the default; the endpoint of a console on its own
// endpoint, which the log has; those three labels; any endpoint.
func (m Model) statusBar() string {
	// What each try keeps.
	type keep struct{ labels, doctor, full, endpoint, hubEndpoint, kinds bool }
	line := func(c keep) string {
		var parts []string
		add := func(label, v string, keep bool, width int) {
			if v == "" {
				return
			}
			if keep {
				v = label + v
			}
			parts = append(parts, cut(v, width))
		}
		if c.endpoint || (c.hubEndpoint && m.info.Link != nil) {
			add("endpoint ", m.info.Endpoint, c.labels, 40)
		}
		if m.info.Link != nil {
			// Room for a refused login's reason in full ("hub
			// UNREACHABLE: NATS credentials expired", 41 columns).
			add("", m.info.Link(), false, 44)
		}
		if c.doctor {
			add("doctor ", m.info.Doctor, c.labels, 40)
		}
		add("", m.info.Verify, false, 40)
		// Before media, whose words are long: what runs on the microphone
		// stays on an 80-column screen.
		add("audio ", m.info.Audio, c.kinds, 40)
		mediaWidth := 40
		if !c.full {
			mediaWidth = 24
		}
		add("media ", m.info.Media, c.kinds, mediaWidth)
		if v := m.videoWords(); c.full || v != GraphicsBlocks.String() {
			add("video ", v, c.kinds, 40)
		}
		return " " + strings.Join(parts, " | ")
	}
	var s string
	for _, c := range []keep{
		{labels: true, doctor: true, full: true, endpoint: true, kinds: true},
		{doctor: true, full: true, endpoint: true, kinds: true},
		{full: true, endpoint: true, kinds: true},
		{endpoint: true, kinds: true},
		{hubEndpoint: true, kinds: true},
		{hubEndpoint: true},
		{},
	} {
		if s = line(c); ansi.StringWidth(s) <= m.width {
			break
		}
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

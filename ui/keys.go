package ui

import "charm.land/bubbles/v2/key"

// KeyMap is every key binding of the console. Update matches keys only
// through these bindings, and help is generated from them: a binding that
// does not apply on the current screen is disabled, so it neither acts nor
// shows in help.
type KeyMap struct {
	// Up and Down move the selection in the waiting room.
	Up, Down key.Binding
	// Call calls the selected patient.
	Call key.Binding
	// End ends the current call.
	End key.Binding
	// Mute mutes or unmutes the doctor's microphone.
	Mute key.Binding
	// Camera turns the doctor's camera off or on.
	Camera key.Binding
	// Video shows or hides the patient's video.
	Video key.Binding
	// FullScreen gives the patient's picture the whole terminal, or gives
	// the call screen back.
	FullScreen key.Binding
	// Snapshot saves the frame being shown as a PNG file.
	Snapshot key.Binding
	// Back returns from an ended call to the waiting room at once, without
	// waiting for it to come back by itself.
	Back key.Binding
	// Help shows or hides the help screen.
	Help key.Binding
	// Quit quits; during a call it asks for confirmation first.
	Quit key.Binding
	// ForceQuit quits at once; during a call it hangs up first, without
	// asking: it is the way out that always works.
	ForceQuit key.Binding
	// Yes and No answer the quit confirmation.
	Yes, No key.Binding
	// Chat opens the chat line for the patient called or selected; Attach
	// a prompt for a file's path to send them; Notes the doctor's notes on
	// their consultation.
	Chat, Attach, Notes key.Binding
	// Send sends the chat line (or the file named); CloseInput closes the
	// chat line, the prompt or the notes.
	Send, CloseInput key.Binding
	// History opens past consultations; Filter keeps the selected
	// patient's only, or everyone's again; PageUp and PageDown move
	// through the list a screen at a time (more is read as it goes).
	History, Filter, PageUp, PageDown key.Binding
	// Photo shows the photo of the patient called or selected, from their
	// READY; Picture the latest picture of their chat; PrevPicture and
	// NextPicture the chat's others, while one is shown.
	Photo, Picture, PrevPicture, NextPicture key.Binding
	// Day opens the doctor's day of bookings; on it, PrevDay and NextDay
	// move a day, Override checks a patient in without their PIN,
	// StartVisit, CompleteVisit and NoShow move the appointment selected,
	// CancelVisit cancels it (Send calls its patient, or asks for the PIN).
	Day, PrevDay, NextDay, Override, StartVisit, CompleteVisit, NoShow, CancelVisit key.Binding
}

// DefaultKeyMap returns the console's key bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Up:            key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("up/k", "up")),
		Down:          key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("down/j", "down")),
		Call:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "call patient")),
		End:           key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "end call")),
		Mute:          key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "mute mic")),
		Camera:        key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "camera off")),
		Video:         key.NewBinding(key.WithKeys("v"), key.WithHelp("v", "hide video")),
		FullScreen:    key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "full screen")),
		Snapshot:      key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "snapshot")),
		Back:          key.NewBinding(key.WithKeys("enter", "esc"), key.WithHelp("enter/esc", "back to waiting room")),
		Help:          key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:          key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit:     key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit now")),
		Yes:           key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "hang up and quit")),
		No:            key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "stay")),
		Chat:          key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "chat")),
		Attach:        key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "send file")),
		Notes:         key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "notes")),
		Send:          key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
		CloseInput:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
		History:       key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "history")),
		Filter:        key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "this patient only")),
		PageUp:        key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown:      key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdown", "page down")),
		Photo:         key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "patient photo")),
		Picture:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "open picture")),
		PrevPicture:   key.NewBinding(key.WithKeys("left"), key.WithHelp("left", "earlier picture")),
		NextPicture:   key.NewBinding(key.WithKeys("right"), key.WithHelp("right", "later picture")),
		Day:           key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "the day")),
		PrevDay:       key.NewBinding(key.WithKeys("left"), key.WithHelp("left", "day before")),
		NextDay:       key.NewBinding(key.WithKeys("right"), key.WithHelp("right", "day after")),
		Override:      key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "check in, no PIN")),
		StartVisit:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start")),
		CompleteVisit: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "complete")),
		NoShow:        key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "no-show")),
		CancelVisit:   key.NewBinding(key.WithKeys("X"), key.WithHelp("X", "cancel")),
	}
}

// keyContext is what decides which bindings apply and what they say.
type keyContext struct {
	screen     screen
	callActive bool // a call is being set up or is up
	confirming bool // the quit confirmation is showing
	helpOpen   bool
	canCall    bool // the selected patient can be called
	autoReturn bool // the waiting room comes back by itself after a call
	patients   int
	micMuted   bool
	cameraOff  bool
	videoOn    bool
	fullscreen bool
	canSnap    bool     // a frame is shown and snapshots have a directory
	chat       bool     // there is a chat, and a patient to chat with
	input      chatMode // the chat input open, or chatClosed
	history    bool     // there is a record to read
	inHistory  bool     // the history screen is open
	inDetail   bool     // and shows one consultation
	filtered   bool     // and keeps one patient's only
	photos     bool     // there is a patient whose photo can be shown
	pictures   int      // pictures in the chat of the patient called or selected
	viewing    bool     // the viewer shows a picture
	browsing   bool     // and it is one of the chat's, with others
	day        bool     // the console takes bookings
	inDay      bool     // the day is open
	dayPrompt  bool     // and asks for a PIN or a reason
}

// inContext returns k with each binding enabled when it applies in c and its
// help worded for the current state.
func (k KeyMap) inContext(c keyContext) KeyMap {
	onWaiting := c.screen == screenWaiting && !c.confirming
	onCall := c.screen == screenCall && !c.confirming
	k.Up.SetEnabled(onWaiting && c.patients > 1)
	k.Down.SetEnabled(onWaiting && c.patients > 1)
	k.Call.SetEnabled(onWaiting && c.canCall)
	k.End.SetEnabled(onCall && c.callActive)
	k.Mute.SetEnabled(onCall && c.callActive)
	k.Camera.SetEnabled(onCall && c.callActive)
	k.Video.SetEnabled(onCall)
	k.FullScreen.SetEnabled(onCall && c.callActive && c.videoOn)
	k.Snapshot.SetEnabled(onCall && c.callActive && c.canSnap)
	k.Back.SetEnabled(onCall && !c.callActive)
	k.Help.SetEnabled(!c.confirming)
	k.Quit.SetEnabled(!c.confirming)
	k.Yes.SetEnabled(c.confirming)
	k.No.SetEnabled(c.confirming)
	k.Chat.SetEnabled(c.chat && !c.confirming)
	k.Attach.SetEnabled(c.chat && !c.confirming)
	k.Notes.SetEnabled(c.chat && !c.confirming)
	k.Send.SetEnabled(false)
	k.CloseInput.SetEnabled(false)
	k.History.SetEnabled(c.history && onWaiting && c.input == chatClosed && !c.inHistory)
	k.Filter.SetEnabled(false)
	k.PageUp.SetEnabled(false)
	k.PageDown.SetEnabled(false)
	k.Photo.SetEnabled(c.photos && !c.confirming && !c.fullscreen)
	k.Picture.SetEnabled(c.pictures > 0 && !c.confirming && !c.fullscreen)
	k.PrevPicture.SetEnabled(c.viewing && c.browsing && !c.confirming)
	k.NextPicture.SetEnabled(c.viewing && c.browsing && !c.confirming)
	k.Day.SetEnabled(c.day && onWaiting && c.input == chatClosed && !c.inHistory && !c.inDay)
	for _, b := range []*key.Binding{&k.PrevDay, &k.NextDay, &k.Override, &k.StartVisit, &k.CompleteVisit, &k.NoShow, &k.CancelVisit} {
		b.SetEnabled(false)
	}
	if c.viewing && !c.confirming {
		// The video is under the picture: its keys would act unseen.
		k.FullScreen.SetEnabled(false)
		k.Video.SetEnabled(false)
		k.CloseInput.SetEnabled(true)
		k.CloseInput.SetHelp(k.CloseInput.Help().Key, "close picture")
	}
	if c.inHistory && !c.confirming {
		for _, b := range []*key.Binding{&k.Up, &k.Down, &k.Call, &k.Chat, &k.Attach, &k.Notes, &k.Photo, &k.Picture,
			&k.PrevPicture, &k.NextPicture} {
			b.SetEnabled(false)
		}
		k.Up.SetEnabled(!c.inDetail)
		k.Down.SetEnabled(!c.inDetail)
		k.Send.SetEnabled(!c.inDetail)
		k.Send.SetHelp(k.Send.Help().Key, "open")
		k.Filter.SetEnabled(!c.inDetail)
		k.PageUp.SetEnabled(!c.inDetail)
		k.PageDown.SetEnabled(!c.inDetail)
		k.Filter.SetHelp(k.Filter.Help().Key, pick(c.filtered, "everyone", "this patient only"))
		k.CloseInput.SetEnabled(true)
		k.CloseInput.SetHelp(k.CloseInput.Help().Key, pick(c.inDetail, "back to the list", "back"))
	}
	if c.inDay && !c.confirming {
		for _, b := range []*key.Binding{&k.Call, &k.Chat, &k.Attach, &k.Notes, &k.Photo, &k.Picture,
			&k.PrevPicture, &k.NextPicture, &k.History} {
			b.SetEnabled(false)
		}
		k.Up.SetEnabled(true)
		k.Down.SetEnabled(true)
		k.Send.SetEnabled(true)
		k.CloseInput.SetEnabled(true)
		if c.dayPrompt {
			k.Send.SetHelp(k.Send.Help().Key, "done")
			k.CloseInput.SetHelp(k.CloseInput.Help().Key, "never mind")
		} else {
			k.Send.SetHelp(k.Send.Help().Key, "call / check in")
			k.CloseInput.SetHelp(k.CloseInput.Help().Key, "back")
			for _, b := range []*key.Binding{&k.PrevDay, &k.NextDay, &k.Override, &k.StartVisit, &k.CompleteVisit, &k.NoShow, &k.CancelVisit} {
				b.SetEnabled(true)
			}
		}
	}
	if c.input != chatClosed && !c.confirming {
		// The input has the keyboard: only its own keys and the way
		// out that always works apply.
		for _, b := range []*key.Binding{&k.Up, &k.Down, &k.Call, &k.End, &k.Mute, &k.Camera, &k.Video,
			&k.Back, &k.Help, &k.Quit, &k.Chat, &k.Attach, &k.Notes, &k.Photo, &k.Picture, &k.PrevPicture, &k.NextPicture} {
			b.SetEnabled(false)
		}
		k.Send.SetEnabled(c.input != chatNotes)
		k.CloseInput.SetEnabled(true)
		k.Send.SetHelp(k.Send.Help().Key, pick(c.input == chatAttaching, "send file", "send"))
	}

	k.Mute.SetHelp(k.Mute.Help().Key, pick(c.micMuted, "unmute mic", "mute mic"))
	k.Camera.SetHelp(k.Camera.Help().Key, pick(c.cameraOff, "camera on", "camera off"))
	k.Video.SetHelp(k.Video.Help().Key, pick(c.videoOn, "hide video", "show video"))
	k.FullScreen.SetHelp(k.FullScreen.Help().Key, pick(c.fullscreen, "leave full screen", "full screen"))
	k.Help.SetHelp(k.Help.Help().Key, pick(c.helpOpen, "close help", "help"))
	k.Back.SetHelp(k.Back.Help().Key, pick(c.autoReturn, "back to waiting room now", "back to waiting room"))
	k.ForceQuit.SetHelp(k.ForceQuit.Help().Key, pick(c.callActive, "hang up and quit now", "quit now"))
	return k
}

func pick(cond bool, yes, no string) string {
	if cond {
		return yes
	}
	return no
}

// ShortHelp returns the bindings of the one-line help, in the order shown:
// full screen and snapshot are on the help screen, as at 80 columns they
// would push quit off the line.
// It implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Yes, k.No, k.Send, k.CloseInput, k.Call, k.Up, k.Down, k.End, k.Mute, k.Camera, k.Video, k.Back,
		k.StartVisit, k.CompleteVisit, k.NoShow, k.CancelVisit, k.Override,
		k.Chat, k.Day, k.History, k.Filter, k.Help, k.Quit, k.Picture, k.Photo}
}

// FullHelp returns the help screen's columns. It implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.Call},
		{k.End, k.Mute, k.Camera, k.Video, k.FullScreen, k.Snapshot, k.Back},
		{k.Chat, k.Attach, k.Notes, k.Send, k.CloseInput, k.History, k.Filter, k.PageUp, k.PageDown},
		{k.Photo, k.Picture, k.PrevPicture, k.NextPicture},
		{k.Day, k.PrevDay, k.NextDay, k.Override, k.StartVisit, k.CompleteVisit, k.NoShow, k.CancelVisit},
		{k.Yes, k.No},
		{k.Help, k.Quit, k.ForceQuit},
	}
}

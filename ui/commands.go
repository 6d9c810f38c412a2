package ui

import (
	"image"
	"time"

	tea "charm.land/bubbletea/v2"

	"teleconsole/call"
	"teleconsole/waitingroom"
)

// patientsMsg carries a snapshot of the waiting room and when it was taken.
type patientsMsg struct {
	patients []waitingroom.Patient
	at       time.Time
}

// eventMsg carries one event of the call engine.
type eventMsg struct{ ev call.Event }

// eventsClosedMsg says the engine closed its events channel.
type eventsClosedMsg struct{}

// callStartedMsg reports the result of Console.Call.
type callStartedMsg struct {
	address string
	err     error
}

// frameMsg carries the latest video frame, or no image when the frame has
// not changed since the last one. call and gen tie it to the call and the
// sampling loop that asked.
type frameMsg struct {
	call int
	gen  int
	img  *image.RGBA
	seq  uint64
}

// returnMsg says an ended call's screen has been up for the return delay:
// the waiting room comes back if call is still the call on screen.
type returnMsg struct{ call int }

// settledMsg ends the short guard after the waiting room came back by
// itself, during which Enter does not call (see returnGrace).
type settledMsg struct{ call int }

// fetchPatientsCmd reads the waiting room now.
func fetchPatientsCmd(c Console, clock func() time.Time) tea.Cmd {
	return func() tea.Msg {
		return patientsMsg{patients: c.Patients(), at: clock()}
	}
}

// pollPatientsCmd reads the waiting room after d.
func pollPatientsCmd(c Console, clock func() time.Time, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg {
		return patientsMsg{patients: c.Patients(), at: clock()}
	})
}

// waitEventCmd waits for the engine's next event. Update re-arms it after
// each event, so exactly one is waiting at any time.
func waitEventCmd(ch <-chan call.Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return eventsClosedMsg{}
		}
		return eventMsg{ev: ev}
	}
}

// startCallCmd calls the patient at address.
func startCallCmd(c Console, address string) tea.Cmd {
	return func() tea.Msg {
		return callStartedMsg{address: address, err: c.Call(address)}
	}
}

// hangupCmd ends the current call.
func hangupCmd(c Console) tea.Cmd {
	return func() tea.Msg {
		c.Hangup()
		return nil
	}
}

// hangupAndQuitCmd ends the current call, then quits the program, so the
// patient gets a BYE before the console goes.
func hangupAndQuitCmd(c Console) tea.Cmd {
	return func() tea.Msg {
		c.Hangup()
		return tea.QuitMsg{}
	}
}

// micCmd mutes or unmutes the microphone.
func micCmd(c Console, muted bool) tea.Cmd {
	return func() tea.Msg {
		c.SetMicMuted(muted)
		return nil
	}
}

// cameraCmd turns the camera off or on.
func cameraCmd(c Console, off bool) tea.Cmd {
	return func() tea.Msg {
		c.SetCameraOff(off)
		return nil
	}
}

// frameCmd samples the patient's video after d; it returns the image only if
// its sequence number differs from last, so an unchanged frame costs nothing
// to draw.
func frameCmd(c Console, callID, gen int, last uint64, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg {
		img, seq := c.Frame()
		if seq == last || img == nil {
			return frameMsg{call: callID, gen: gen, seq: last}
		}
		return frameMsg{call: callID, gen: gen, img: img, seq: seq}
	})
}

// returnCmd brings the waiting room back after d, for call number callID:
// the number lets Update drop the tick of an earlier call, which may arrive
// while a later one is on screen.
func returnCmd(callID int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return returnMsg{call: callID} })
}

// settleCmd ends the guard of call number callID's return after d.
func settleCmd(callID int, d time.Duration) tea.Cmd {
	return tea.Tick(d, func(time.Time) tea.Msg { return settledMsg{call: callID} })
}

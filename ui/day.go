package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"teleconsole/booking"
	"teleconsole/waitingroom"
)

// Appointments is the doctor's day of bookings (WithDay): who is expected
// when, and the changes the doctor or the front desk makes to it. Each
// change is told to the patient's app by the console.
type Appointments interface {
	// Day returns the appointments of the day of t, in time order.
	Day(t time.Time) ([]booking.Order, error)
	// Hours says the doctor's hours on the day of t and its free slots.
	Hours(t time.Time) string
	// Undelivered says what the doctor should know of order id's
	// messages: what the patient's app could not be told ("not told:
	// ..."), or what it reported; "" when there is nothing.
	Undelivered(id string) string
	// CheckIn checks an in-clinic patient in with their PIN; OverridePIN
	// without it, for one of booking.OverrideReasons.
	CheckIn(id, pin string) error
	OverridePIN(id, code string) error
	// StartVisit, CompleteVisit and NoShow move an appointment.
	StartVisit(id string) error
	CompleteVisit(id string) error
	NoShow(id string) error
	// CancelAppointment cancels for one of booking.DoctorCancelReasons.
	CancelAppointment(id, reason string) error
}

// WithDay gives the model the doctor's day: the day key opens it.
func WithDay(a Appointments) Option {
	return func(m *Model) { m.day = &dayModel{source: a} }
}

// dayPrompt is what the day screen is asking the doctor for.
type dayPrompt int

const (
	dayNoPrompt dayPrompt = iota
	dayPIN                // the patient's check-in PIN
	dayOverride           // an override reason
	dayCancel             // a cancel reason
)

// dayModel is the doctor's day: the appointments of one day in time order,
// then the walk-ins (patients waiting with no booking). It sits behind a
// pointer in the root model, which Bubble Tea copies at every message.
type dayModel struct {
	source   Appointments
	styles   Styles
	open     bool
	date     time.Time // the day shown (midnight, local)
	list     []booking.Order
	hours    string                // the day's hours and free slots
	patients []waitingroom.Patient // the waiting room as last read
	walkIns  []waitingroom.Patient
	waiting  map[string]bool // addresses in the waiting room now
	selected int
	gen      int
	ready    bool
	prompt   dayPrompt
	pin      textinput.Model
	reasons  []string
	reason   int
	note     string // the last action's outcome
}

// dayMsg carries the appointments read for gen, and the day's hours.
type dayMsg struct {
	gen   int
	list  []booking.Order
	hours string
	err   error
}

// dayDoneMsg carries the outcome of one of the doctor's changes.
type dayDoneMsg struct {
	what string
	err  error
}

// loadDayCmd reads the day; its hours too when withHours (the day is on
// screen): the waiting room's once-a-second read needs only the list.
func loadDayCmd(a Appointments, gen int, date time.Time, withHours bool) tea.Cmd {
	return func() tea.Msg {
		list, err := a.Day(date)
		msg := dayMsg{gen: gen, list: list, err: err}
		if withHours {
			msg.hours = a.Hours(date)
		}
		return msg
	}
}

func dayActCmd(what string, act func() error) tea.Cmd {
	return func() tea.Msg { return dayDoneMsg{what: what, err: act()} }
}

// start opens the day of now.
func (d *dayModel) start(now time.Time) tea.Cmd {
	d.open, d.prompt, d.note = true, dayNoPrompt, ""
	d.date = midnight(now)
	return d.reload()
}

// poll reads the day again: the day shown, or today until one is.
func (d *dayModel) poll(now time.Time) tea.Cmd {
	if d.date.IsZero() {
		d.date = midnight(now)
	}
	return d.reload()
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func (d *dayModel) reload() tea.Cmd {
	d.gen++
	return loadDayCmd(d.source, d.gen, d.date, d.open)
}

func (d *dayModel) loaded(msg dayMsg) error {
	if msg.gen != d.gen {
		return nil
	}
	if msg.err != nil {
		return fmt.Errorf("the day: %w", msg.err)
	}
	var sel string
	if d.selected < len(d.list) {
		sel = d.list[d.selected].ID
	}
	d.list, d.ready = msg.list, true
	if msg.hours != "" {
		d.hours = msg.hours
	}
	d.sortPatients()
	d.selected = min(d.selected, max(0, len(d.list)-1))
	for i, o := range d.list {
		if o.ID == sel {
			d.selected = i
		}
	}
	return nil
}

// setPatients takes the waiting room: who is here, and who came with no
// booking of the day.
func (d *dayModel) setPatients(ps []waitingroom.Patient) {
	d.patients = ps
	d.sortPatients()
}

// sortPatients tells the waiting room's patients with a booking of the
// day shown from the walk-ins.
func (d *dayModel) sortPatients() {
	ps := d.patients
	booked := map[string]bool{}
	for _, o := range d.list {
		if o.TransactionID != "" {
			booked[o.TransactionID] = true
		}
	}
	d.waiting = map[string]bool{}
	d.walkIns = d.walkIns[:0]
	for _, p := range ps {
		if p.State == waitingroom.StateLeft {
			continue
		}
		d.waiting[strings.ToLower(p.Address)] = true
		if p.TransactionID == "" || !booked[p.TransactionID] {
			d.walkIns = append(d.walkIns, p)
		}
	}
}

// noteFor says, for the waiting room, whether patient p came for a
// booking of the day shown (and when), or walked in.
func (d *dayModel) noteFor(p waitingroom.Patient) string {
	if !d.ready {
		return ""
	}
	for _, o := range d.list {
		if p.TransactionID != "" && o.TransactionID == p.TransactionID {
			return "booked " + o.Start.Format("15:04") + " " + o.Kind.Short()
		}
	}
	return "walk-in"
}

// selectedOrder is the appointment selected, if any.
func (d *dayModel) selectedOrder() (booking.Order, bool) {
	if d.selected < 0 || d.selected >= len(d.list) {
		return booking.Order{}, false
	}
	return d.list[d.selected], true
}

// update takes a key while the day is open. callAddr, when set, is the
// patient to call: the selected appointment's, who is in the waiting room.
func (d *dayModel) update(msg tea.KeyPressMsg, k KeyMap) (cmd tea.Cmd, callAddr string) {
	if d.prompt != dayNoPrompt {
		return d.answer(msg, k), ""
	}
	o, ok := d.selectedOrder()
	switch {
	case key.Matches(msg, k.CloseInput):
		d.open = false
	case key.Matches(msg, k.Up):
		d.selected = max(0, d.selected-1)
	case key.Matches(msg, k.Down):
		d.selected = min(len(d.list)-1, d.selected+1)
	case key.Matches(msg, k.PrevDay), key.Matches(msg, k.NextDay):
		step := 1
		if key.Matches(msg, k.PrevDay) {
			step = -1
		}
		d.date, d.selected, d.note = d.date.AddDate(0, 0, step), 0, ""
		return d.reload(), ""
	case !ok:
	case key.Matches(msg, k.Send):
		switch {
		case o.Kind == booking.KindPhysical && o.State == booking.StateConfirmed:
			d.prompt = dayPIN
			d.pin = textinput.New()
			d.pin.Prompt = "PIN: "
			d.pin.CharLimit = 4
			d.pin.EchoMode = textinput.EchoPassword
			return d.pin.Focus(), ""
		case o.Kind == booking.KindTele && d.waiting[strings.ToLower(o.Patient.Address)]:
			d.open = false
			return nil, o.Patient.Address
		case o.Kind == booking.KindTele:
			d.note = cut(o.Patient.Name, 30) + " is not in the waiting room yet"
		}
	case key.Matches(msg, k.Override) && o.State == booking.StateConfirmed && o.Kind == booking.KindPhysical:
		d.prompt, d.reasons, d.reason = dayOverride, booking.OverrideReasons(), 0
	case key.Matches(msg, k.CancelVisit):
		d.prompt, d.reasons, d.reason = dayCancel, booking.DoctorCancelReasons(), 0
	case key.Matches(msg, k.StartVisit):
		return dayActCmd("started "+o.Patient.Name, func() error { return d.source.StartVisit(o.ID) }), ""
	case key.Matches(msg, k.CompleteVisit):
		return dayActCmd("completed "+o.Patient.Name, func() error { return d.source.CompleteVisit(o.ID) }), ""
	case key.Matches(msg, k.NoShow):
		return dayActCmd(o.Patient.Name+" marked no-show", func() error { return d.source.NoShow(o.ID) }), ""
	}
	return nil, ""
}

// answer takes a key while the day asks for a PIN or a reason.
func (d *dayModel) answer(msg tea.KeyPressMsg, k KeyMap) tea.Cmd {
	o, ok := d.selectedOrder()
	switch {
	case key.Matches(msg, k.CloseInput) || !ok:
		d.prompt = dayNoPrompt
		return nil
	case d.prompt == dayPIN && key.Matches(msg, k.Send):
		pin := d.pin.Value()
		d.prompt = dayNoPrompt
		return dayActCmd(o.Patient.Name+" checked in", func() error { return d.source.CheckIn(o.ID, pin) })
	case d.prompt == dayPIN:
		var cmd tea.Cmd
		d.pin, cmd = d.pin.Update(msg)
		return cmd
	case key.Matches(msg, k.Up):
		d.reason = max(0, d.reason-1)
	case key.Matches(msg, k.Down):
		d.reason = min(len(d.reasons)-1, d.reason+1)
	case key.Matches(msg, k.Send):
		code, p := d.reasons[d.reason], d.prompt
		d.prompt = dayNoPrompt
		if p == dayOverride {
			return dayActCmd(o.Patient.Name+" checked in ("+code+")", func() error { return d.source.OverridePIN(o.ID, code) })
		}
		return dayActCmd("cancelled "+o.Patient.Name+" ("+code+")", func() error { return d.source.CancelAppointment(o.ID, code) })
	}
	return nil
}

// done takes the outcome of a change, and reads the day again.
func (d *dayModel) done(msg dayDoneMsg) (tea.Cmd, error) {
	if msg.err != nil {
		d.note = ""
		return d.reload(), msg.err
	}
	d.note = msg.what
	return d.reload(), nil
}

// lateAfter is how long past its start a booked patient who has not come
// is shown late.
const lateAfter = 5 * time.Minute

// status is an appointment's state as the day shows it: late, or waiting
// in the waiting room, where that says more than the state.
func (d *dayModel) status(o booking.Order, now time.Time) (state, note string) {
	state = o.State.String()
	var notes []string
	switch {
	case o.State == booking.StateConfirmed && o.Kind == booking.KindTele && d.waiting[strings.ToLower(o.Patient.Address)]:
		state = "arrived"
	case o.State == booking.StateConfirmed && now.After(o.Start.Add(lateAfter)):
		notes = append(notes, "late "+formatWait(now.Sub(o.Start)))
	}
	if o.State == booking.StateCancelled {
		notes = append(notes, o.CancelledBy+": "+o.CancelReason)
	}
	if u := d.source.Undelivered(o.ID); u != "" {
		notes = append(notes, u)
	}
	return state, strings.Join(notes, "; ")
}

// view draws the day in a box of w by h.
func (d *dayModel) view(w, h int, now time.Time) string {
	st := d.styles
	inner := w - 2
	title := "Day " + d.date.Format("Mon 02 Jan 2006")
	if !d.ready {
		return box(st.Border, title, st.Dim.Render(" Reading the day..."), w, h)
	}
	title += fmt.Sprintf(" (%d booked)", len(d.list))
	var foot []string
	if o, ok := d.selectedOrder(); ok {
		foot = append(foot, st.Dim.Render(" "+cut(fmt.Sprintf("%s | %s | order %s", o.Patient.Address, o.Kind, o.ID), inner-1)))
	}
	switch d.prompt {
	case dayPIN:
		foot = append(foot, " "+d.pin.View())
	case dayOverride, dayCancel:
		foot = append(foot, st.Prompt.Render(" "+pick(d.prompt == dayOverride, "Check in without the PIN because:", "Cancel because:")+
			" "+d.reasons[d.reason]+"  (up/down, enter)"))
	default:
		if d.note != "" {
			foot = append(foot, st.Value.Render(" "+cut(d.note, inner-1)))
		}
	}
	// marker(2) time(5) sp name sp type(7) sp state(10) sp note
	noteW := min(30, max(12, inner/3))
	nameW := max(8, inner-2-5-1-1-7-1-10-1-noteW)
	row := func(t, name, kind, state, note string) string {
		return fmt.Sprintf("%-5s %-*s %-7s %-10s %s", t, nameW, cut(name, nameW), kind, state, cut(note, noteW))
	}
	lines := []string{st.Dim.Render(" " + cut("Hours: "+d.hours, inner-1)),
		st.Header.Render("  " + row("Time", "Patient", "Type", "State", "Note"))}
	if len(d.list) == 0 {
		lines = append(lines, st.Dim.Render(center("No appointments booked this day.", inner)))
	}
	visible := max(1, h-2-2-len(foot)-min(len(d.walkIns), 4)-1)
	first := max(0, d.selected-visible+1)
	for i := first; i < len(d.list) && i < first+visible; i++ {
		o := d.list[i]
		state, note := d.status(o, now)
		// The slot's own zone (the schedule's): the doctor's day is in
		// the clinic's time, whatever the machine's zone.
		text := row(o.Start.Format("15:04"), o.Patient.Name, o.Kind.Short(), state, note)
		if i == d.selected {
			lines = append(lines, st.Selected.Render(fitLine("> "+text, inner)))
			continue
		}
		style := st.Value
		switch {
		case strings.Contains(note, "late "), strings.Contains(note, "not told"), strings.Contains(note, "reports"):
			style = st.Warn
		case o.State.Final():
			style = st.Dim
		case state == "arrived" || o.State == booking.StateInCall:
			style = st.Good
		}
		lines = append(lines, "  "+style.Render(text))
	}
	if n := len(d.walkIns); n > 0 && d.date.Equal(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())) {
		lines = append(lines, st.Dim.Render(fmt.Sprintf("  Walk-ins, no booking (%d):", n)))
		for _, p := range d.walkIns[:min(n, 4)] {
			lines = append(lines, "  "+st.Value.Render(row("--:--", p.Name, "walk-in", p.State.String(), "")))
		}
	}
	for len(lines) < h-2-len(foot) {
		lines = append(lines, "")
	}
	return box(st.Border, title, strings.Join(append(lines, foot...), "\n"), w, h)
}

package ui

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"teleconsole/booking"
	"teleconsole/waitingroom"
)

// fakeDay is an Appointments that keeps its orders in memory and records
// what the doctor did.
type fakeDay struct {
	mu     sync.Mutex
	orders []booking.Order
	did    []string
}

func (f *fakeDay) Day(t time.Time) ([]booking.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []booking.Order
	for _, o := range f.orders {
		if o.Start.Format(time.DateOnly) == t.Format(time.DateOnly) {
			out = append(out, o)
		}
	}
	return out, nil
}

func (f *fakeDay) Hours(time.Time) string { return "video 09:00-13:00 | clinic 17:00-20:00 | 14 free" }

func (f *fakeDay) Undelivered(id string) string {
	if id == "o3" {
		return "not told: on_update not delivered: connection refused"
	}
	return ""
}

func (f *fakeDay) act(what, id string, to booking.State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.did = append(f.did, what+" "+id)
	for i := range f.orders {
		if f.orders[i].ID == id {
			f.orders[i].State = to
		}
	}
	return nil
}

func (f *fakeDay) CheckIn(id, pin string) error {
	if pin != "4321" {
		f.mu.Lock()
		f.did = append(f.did, "wrong pin "+id)
		f.mu.Unlock()
		return errors.New("wrong or expired PIN")
	}
	return f.act("check-in", id, booking.StateArrived)
}
func (f *fakeDay) OverridePIN(id, code string) error {
	return f.act("override "+code, id, booking.StateArrived)
}
func (f *fakeDay) StartVisit(id string) error { return f.act("start", id, booking.StateInCall) }
func (f *fakeDay) CompleteVisit(id string) error {
	return f.act("complete", id, booking.StateCompleted)
}
func (f *fakeDay) NoShow(id string) error { return f.act("no-show", id, booking.StateNoShow) }
func (f *fakeDay) CancelAppointment(id, reason string) error {
	return f.act("cancel "+reason, id, booking.StateCancelled)
}

func (f *fakeDay) actions() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.did, ", ")
}

// aDay is a morning: a teleconsultation whose patient is in the waiting
// room, an in-clinic visit, and a teleconsultation late and not told.
func aDay() *fakeDay {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 22, h, m, 0, 0, time.UTC) }
	return &fakeDay{orders: []booking.Order{
		{ID: "o1", Kind: booking.KindTele, Start: at(9, 30), End: at(9, 45), State: booking.StateConfirmed, TransactionID: "txn-asha",
			Patient: booking.Patient{Address: "asha.rao@sbx", Name: "Asha Rao"}},
		{ID: "o3", Kind: booking.KindTele, Start: at(9, 40), End: at(9, 55), State: booking.StateConfirmed, TransactionID: "txn-kiran",
			Patient: booking.Patient{Address: "kiran@sbx", Name: "Kiran Shah"}},
		{ID: "o2", Kind: booking.KindPhysical, Start: at(10, 0), End: at(10, 20), State: booking.StateConfirmed,
			Patient: booking.Patient{Address: "meera@sbx", Name: "Meera Iyer"}},
	}}
}

func dayPatients() []waitingroom.Patient {
	ps := threePatients()
	ps[0].TransactionID = "txn-asha" // Asha came for her booking; the others walked in
	return ps
}

func TestDayShowsBookedLateAndWalkIns(t *testing.T) {
	d := aDay()
	f := newFake(&recorder{}, nil)
	f.PatientsFn = dayPatients
	m := loaded(t, f, 80, 24, WithDay(d))
	m, cmd := update(t, m, press("d"))
	m = feed(t, m, cmd)
	screen := chatLines(t, m)
	for _, want := range []string{"Day Sun 22 Nov 2026 (3 booked)", "Hours: video 09:00-13:00 | clinic 17:00-20:00 | 14 free", "09:30 Asha Rao", "arrived", "10:00 Meera Iyer",
		"clinic", "late 20m00s; not told", "Walk-ins, no booking (2)", "--:-- Vikram Singh"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the day lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "--:-- Asha Rao") {
		t.Errorf("a booked patient listed as a walk-in:\n%s", screen)
	}
	for i, l := range strings.Split(screen, "\n") {
		if w := len([]rune(l)); w > 80 {
			t.Errorf("line %d is %d wide at 80 columns: %q", i, w, l)
		}
	}
}

func TestDayCheckInStartCompleteCancel(t *testing.T) {
	d := aDay()
	rec := &recorder{}
	f := newFake(rec, nil)
	f.PatientsFn = dayPatients
	m := loaded(t, f, 80, 24, WithDay(d))
	m, cmd := update(t, m, press("d"))
	m = feed(t, m, cmd)

	// Meera, in clinic: enter asks for the PIN; a wrong one is said, a right one checks her in.
	m, _ = update(t, m, press("down"))
	m, _ = update(t, m, press("down"))
	m, _ = update(t, m, press("enter"))
	if !strings.Contains(chatLines(t, m), "PIN:") {
		t.Fatalf("no PIN prompt:\n%s", chatLines(t, m))
	}
	m = typeText(t, m, "1111")
	m, cmd = update(t, m, press("enter"))
	m = feed(t, m, cmd)
	if m.err == nil || !strings.Contains(m.err.Error(), "PIN") {
		t.Errorf("a wrong PIN is not said: %v", m.err)
	}
	m, _ = update(t, m, press("enter"))
	m = typeText(t, m, "4321")
	m, cmd = update(t, m, press("enter"))
	m = feed(t, m, cmd)
	if m.err != nil || !strings.Contains(chatLines(t, m), "Meera Iyer checked in") {
		t.Errorf("check-in: %v\n%s", m.err, chatLines(t, m))
	}
	m, cmd = update(t, m, press("s"))
	m = feed(t, m, cmd)
	m, cmd = update(t, m, press("c"))
	m = feed(t, m, cmd)

	// Kiran, late: cancelled for the second of the doctor's reasons.
	m, _ = update(t, m, press("up"))
	m, _ = update(t, m, press("X"))
	m, _ = update(t, m, press("down"))
	if !strings.Contains(chatLines(t, m), "Cancel because: DOCTOR_UNAVAILABLE") {
		t.Fatalf("no reason picker:\n%s", chatLines(t, m))
	}
	m, cmd = update(t, m, press("enter"))
	m = feed(t, m, cmd)
	want := "wrong pin o2, check-in o2, start o2, complete o2, cancel DOCTOR_UNAVAILABLE o3"
	if got := d.actions(); got != want {
		t.Errorf("the doctor did %q, want %q", got, want)
	}

	// Asha is in the waiting room: enter on her appointment calls her.
	m, _ = update(t, m, press("up"))
	m, cmd = update(t, m, press("enter"))
	run(t, cmd)
	if m.screen != screenCall || m.call.patient.Address != "asha.rao@sbx" || m.day.open {
		t.Errorf("enter on a waiting patient's appointment did not call her: screen %v, %s", m.screen, m.call.patient.Address)
	}
	if got := strings.Join(rec.list(), ","); !strings.Contains(got, "call asha.rao@sbx") {
		t.Errorf("the console was asked %q", got)
	}
}

func TestDayKeyOnlyWithBookings(t *testing.T) {
	m := loaded(t, newFake(&recorder{}, nil), 80, 24)
	if m.keys.Day.Enabled() {
		t.Error("the day key is offered by a console that takes no bookings")
	}
	m, _ = update(t, m, press("d"))
	if m.day != nil {
		t.Error("d opened a day")
	}
	m = loaded(t, newFake(&recorder{}, nil), 80, 24, WithDay(aDay()))
	if !m.keys.Day.Enabled() || !strings.Contains(m.help.ShortView(m.keys), "the day") {
		t.Errorf("the day key is not offered: %q", m.help.ShortView(m.keys))
	}
}

func TestWaitingRoomSaysBookedOrWalkIn(t *testing.T) {
	f := newFake(&recorder{}, nil)
	f.PatientsFn = dayPatients
	m := loaded(t, f, 100, 24, WithDay(aDay()))
	m, cmd := update(t, m, patientsMsg{patients: f.Patients(), at: testNow})
	m = feed(t, m, cmd)
	if screen := chatLines(t, m); !strings.Contains(screen, "booked 09:30 video") {
		t.Errorf("the booked patient is not said to be booked:\n%s", screen)
	}
	m, _ = update(t, m, press("down"))
	if screen := chatLines(t, m); !strings.Contains(screen, "| walk-in |") {
		t.Errorf("the walk-in is not said to be one:\n%s", screen)
	}
}

package app

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"teleconsole/booking"
	"teleconsole/hspa"
	"teleconsole/uhiclient"
)

// Booking is what the console needs to take bookings over UHI
// (docs/booking.md §1).
type Booking struct {
	// Desk keeps the doctor's schedule and appointments.
	Desk *booking.Desk
	// Gateway is the UHI gateway's base URI ("https://gw.example/api/v1/uhi"):
	// the catalog answers a broadcast search there, and the audit copies
	// of callbacks go there. Empty: no gateway; a broadcast search is
	// answered at its consumer_uri.
	Gateway string
	// GatewayVerifier checks X-Gateway-Authorization on a broadcast
	// search; nil checks nothing.
	GatewayVerifier uhiclient.Verifier
	// Helpline is the clinic's phone, sent in on_confirm.
	Helpline string
}

// frontDesk is the console's booking desk: the booking side of an HSPA
// (hspa.Service) for the console's one doctor.
type frontDesk struct {
	*hspa.Service
	desk   *booking.Desk
	doctor string
}

func newFrontDesk(b Booking, providerID, providerURI string, out hspa.Poster, doctorsKey string, log *slog.Logger) (*frontDesk, error) {
	doctor := b.Desk.Doctor()
	s, err := hspa.New(hspa.Config{Desks: []*booking.Desk{b.Desk}, ProviderID: providerID, ProviderURI: providerURI,
		Out: out, Gateway: b.Gateway, Helpline: b.Helpline, DoctorsKeys: map[string]string{doctor: doctorsKey}, Log: log})
	if err != nil {
		return nil, err
	}
	return &frontDesk{Service: s, desk: b.Desk, doctor: doctor}, nil
}

// chatKey is the chat key a patient sent when they booked.
func (f *frontDesk) chatKey(addr string) (uhiclient.ChatKey, bool) { return f.ChatKey(addr) }

// arrive marks the teleconsultation a READY on transaction txn belongs to
// as arrived, and takes its patient's chat key, in the background.
func (f *frontDesk) arrive(txn string) { f.Arrive(f.doctor, txn) }

// callMoved moves the teleconsultation of transaction txn with its call.
func (f *frontDesk) callMoved(txn string, started bool) { f.CallMoved(f.doctor, txn, started) }

// TakesBookings reports whether the console takes bookings.
func (c *Console) TakesBookings() bool { return c.front != nil }

// Day returns the appointments of the day of t, in time order.
func (c *Console) Day(t time.Time) ([]booking.Order, error) {
	if c.front == nil {
		return nil, errNoBookings
	}
	return c.front.desk.Day(c.sendCtx, t)
}

// Hours says the doctor's hours on the day of t and how many of its slots
// are free from now on: "video 09:00-13:00 | clinic 17:00-20:00 | 14 free",
// or "no hours this day".
func (c *Console) Hours(t time.Time) string {
	if c.front == nil {
		return ""
	}
	p := c.front.desk.Plan()
	t = t.In(p.Zone())
	var parts []string
	for _, k := range booking.Kinds() {
		if h := p.Hours(k, t); len(h) > 0 {
			parts = append(parts, k.Short()+" "+strings.Join(h, ", "))
		}
	}
	if len(parts) == 0 {
		return "no hours this day"
	}
	from := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
	if free, err := c.front.desk.Free(c.sendCtx, booking.KindUnknown, from, from.AddDate(0, 0, 1)); err == nil {
		parts = append(parts, fmt.Sprintf("%d free", len(free)))
	}
	return strings.Join(parts, " | ")
}

// Undelivered says what the doctor should know of order id's messages
// (hspa.Service.Undelivered): what the patient's app could not be told,
// or what it reported; "" when there is nothing.
func (c *Console) Undelivered(id string) string {
	if c.front == nil {
		return ""
	}
	return c.front.Undelivered(id)
}

// errNoBookings refuses a doctor's action on the day of a console that
// takes no bookings.
var errNoBookings = errors.New("this console takes no bookings: set the doctor's hours with teleconsole schedule --set FILE")

// doctorDid applies one of the doctor's changes to an appointment and
// tells the patient's app.
func (c *Console) doctorDid(change func(*hspa.Service) (booking.Order, error)) error {
	if c.front == nil {
		return errNoBookings
	}
	_, err := change(c.front.Service)
	return err
}

// CheckIn checks an in-clinic patient in with their PIN.
func (c *Console) CheckIn(id, pin string) error {
	return c.doctorDid(func(s *hspa.Service) (booking.Order, error) { return s.CheckIn(c.sendCtx, id, pin) })
}

// OverridePIN checks an in-clinic patient in without their PIN, for one
// of booking.OverrideReasons.
func (c *Console) OverridePIN(id, code string) error {
	return c.doctorDid(func(s *hspa.Service) (booking.Order, error) { return s.Override(c.sendCtx, id, code) })
}

// StartVisit marks an appointment started.
func (c *Console) StartVisit(id string) error {
	return c.doctorDid(func(s *hspa.Service) (booking.Order, error) { return s.Start(c.sendCtx, id) })
}

// CompleteVisit marks an appointment completed.
func (c *Console) CompleteVisit(id string) error {
	return c.doctorDid(func(s *hspa.Service) (booking.Order, error) { return s.Complete(c.sendCtx, id) })
}

// NoShow marks a booked patient who never came.
func (c *Console) NoShow(id string) error {
	return c.doctorDid(func(s *hspa.Service) (booking.Order, error) { return s.NoShow(c.sendCtx, id) })
}

// CancelAppointment cancels an appointment for one of
// booking.DoctorCancelReasons and frees its slot.
func (c *Console) CancelAppointment(id, reason string) error {
	return c.doctorDid(func(s *hspa.Service) (booking.Order, error) { return s.Cancel(c.sendCtx, id, reason) })
}

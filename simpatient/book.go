package simpatient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"teleconsole/uhiclient"
)

// Book is what a simulated patient books before it READYs: a slot with
// its doctor, found by a search and booked with init and confirm, as a
// patient's app does on UHI (docs/booking.md). Its READY then carries the
// booking's transaction, which is how the console knows the patient
// arriving is the appointment's.
type Book struct {
	// Type is the consultation asked for, as the patient's app writes it:
	// "Teleconsultation" (the reference app), "Online" or "Physical".
	Type string
	// Gateway, when set, is the UHI gateway's base URI: the first search
	// goes there and the doctor is picked from its catalog. Empty: the
	// patient searches the console's slots directly.
	Gateway string
	// After is the earliest start of a slot to take (default: now).
	After time.Time
	// Timeout bounds each step's wait for the console's callback
	// (default 10 s).
	Timeout time.Duration
}

// Booking is what a booking gave the patient.
type Booking struct {
	TransactionID, OrderID string
	Start, End             time.Time
	// PIN is the check-in PIN of an in-clinic visit.
	PIN string
}

// bookingDesk receives the console's booking callbacks at the patient's
// consumer_uri and hands each to the step waiting for it.
type bookingDesk struct {
	mu      sync.Mutex
	waiting map[string]chan *uhiclient.BookingEnvelope // action|transaction
	updates func(*uhiclient.BookingEnvelope)
}

func newBookingDesk(updates func(*uhiclient.BookingEnvelope)) *bookingDesk {
	return &bookingDesk{waiting: map[string]chan *uhiclient.BookingEnvelope{}, updates: updates}
}

// expect registers a wait for action on txn, before the request that
// answers it is sent.
func (d *bookingDesk) expect(action, txn string) chan *uhiclient.BookingEnvelope {
	ch := make(chan *uhiclient.BookingEnvelope, 1)
	d.mu.Lock()
	d.waiting[action+"|"+txn] = ch
	d.mu.Unlock()
	return ch
}

// ServeHTTP takes one callback: on_search, on_init, on_confirm, on_status,
// on_update or on_cancel, its action the path's last element.
func (d *bookingDesk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var env *uhiclient.BookingEnvelope
	if err == nil {
		env, err = uhiclient.DecodeBooking(action, body)
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"message":{"ack":{"status":"NACK"}},"error":{"type":"JSON-SCHEMA-ERROR","code":"UHI-1411","message":%q}}`, err.Error())
		return
	}
	_, _ = w.Write([]byte(`{"message":{"ack":{"status":"ACK"}}}`))
	d.mu.Lock()
	ch, ok := d.waiting[action+"|"+env.Context.TransactionID]
	delete(d.waiting, action+"|"+env.Context.TransactionID)
	d.mu.Unlock()
	if ok {
		ch <- env
		return
	}
	if d.updates != nil {
		d.updates(env)
	}
}

// bookingCallbacks are the paths the console's booking answers reach.
func bookingCallbacks() []string {
	return []string{uhiclient.ActionOnSearch, uhiclient.ActionOnInit, uhiclient.ActionOnConfirm,
		uhiclient.ActionOnStatus, uhiclient.ActionOnUpdate, uhiclient.ActionOnCancel}
}

// errNoSlot means the console offered no slot to book.
var errNoSlot = errors.New("patient: the doctor has no free slot")

// book searches, picks the first slot at or after b.After, and books it;
// the patient's builder then carries the booking's transaction.
func (p *Patient) book(ctx context.Context, b Book) (Booking, error) {
	if b.Timeout <= 0 {
		b.Timeout = 10 * time.Second
	}
	if b.After.IsZero() {
		b.After = time.Now()
	}
	typ := b.Type
	if typ == "" {
		typ = "Teleconsultation"
	}
	wait := func(ch chan *uhiclient.BookingEnvelope, what string) (*uhiclient.BookingEnvelope, error) {
		select {
		case env := <-ch:
			if env.Error != nil {
				return env, fmt.Errorf("patient: %s refused: %s %s", what, env.Error.Code, env.Error.Message)
			}
			return env, nil
		case <-time.After(b.Timeout):
			return nil, fmt.Errorf("patient: no %s within %s", what, b.Timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	provider := p.cfg.ConsoleURI
	if b.Gateway != "" {
		txn := uuid.NewString()
		ch := p.desk.expect(uhiclient.ActionOnSearch, txn)
		env := p.bookingRequest(uhiclient.ActionSearch, txn, "")
		env.Message.Intent = &uhiclient.SearchIntent{Fulfillment: &uhiclient.Fulfillment{Type: typ,
			Agent: &uhiclient.Agent{ID: p.cfg.Doctor}}}
		if err := p.client.SendBooking(ctx, b.Gateway, env); err != nil {
			return Booking{}, fmt.Errorf("patient: search: %w", err)
		}
		cat, err := wait(ch, "catalog")
		if err != nil {
			return Booking{}, err
		}
		if cat.Context.ProviderURI != "" {
			provider = cat.Context.ProviderURI
		}
	}
	txn := uuid.NewString()
	ch := p.desk.expect(uhiclient.ActionOnSearch, txn)
	env := p.bookingRequest(uhiclient.ActionSearch, txn, provider)
	env.Message.Intent = &uhiclient.SearchIntent{Fulfillment: &uhiclient.Fulfillment{Type: typ,
		Agent: &uhiclient.Agent{ID: p.cfg.Doctor}, Start: uhiclient.At(b.After), End: uhiclient.At(b.After.Add(7 * 24 * time.Hour))}}
	if err := p.client.SendBooking(ctx, provider, env); err != nil {
		return Booking{}, fmt.Errorf("patient: slot search: %w", err)
	}
	slots, err := wait(ch, "slots")
	if err != nil {
		return Booking{}, err
	}
	slot, item, ok := firstSlot(slots)
	if !ok {
		return Booking{}, errNoSlot
	}
	ch = p.desk.expect(uhiclient.ActionOnInit, txn)
	env = p.bookingRequest(uhiclient.ActionInit, txn, provider)
	env.Message.Order = &uhiclient.Order{Item: item, Fulfillment: slot,
		Customer: &uhiclient.Customer{ID: p.cfg.Address, Person: &uhiclient.CustomerPerson{Name: p.cfg.Name, Gender: p.cfg.Gender}},
		Billing:  &uhiclient.Billing{Name: p.cfg.Name}, Payment: &uhiclient.Payment{Type: uhiclient.PaymentOnOrder}}
	if len(slots.Message.Catalog.Providers) > 0 {
		env.Message.Order.Provider = &uhiclient.Provider{ID: slots.Message.Catalog.Providers[0].ID}
	}
	if err := p.client.SendBooking(ctx, provider, env); err != nil {
		return Booking{}, fmt.Errorf("patient: init: %w", err)
	}
	onInit, err := wait(ch, "on_init")
	if err != nil {
		return Booking{}, err
	}
	order := onInit.Message.Order
	for i := range order.Terms {
		order.Terms[i].TermsState = uhiclient.TermsAgreed
	}
	if p.cfg.ChatKey != nil {
		if order.Fulfillment == nil {
			order.Fulfillment = &uhiclient.Fulfillment{}
		}
		order.Fulfillment.Tags = order.Fulfillment.Tags.Set(uhiclient.TagPatientKey, p.cfg.ChatKey.Public.String())
	}
	ch = p.desk.expect(uhiclient.ActionOnConfirm, txn)
	env = p.bookingRequest(uhiclient.ActionConfirm, txn, provider)
	env.Message.Order = order
	if err := p.client.SendBooking(ctx, provider, env); err != nil {
		return Booking{}, fmt.Errorf("patient: confirm: %w", err)
	}
	onConfirm, err := wait(ch, "on_confirm")
	if err != nil {
		return Booking{}, err
	}
	if st := onConfirm.Message.Order.State; st != uhiclient.StateConfirmed {
		return Booking{}, fmt.Errorf("patient: the booking is %s", st)
	}
	got := Booking{TransactionID: txn, OrderID: onConfirm.Message.Order.ID}
	if f := onConfirm.Message.Order.Fulfillment; f != nil {
		got.Start, _ = uhiclient.ParseLocalTime(f.Start.Time.Timestamp)
		got.End, _ = uhiclient.ParseLocalTime(f.End.Time.Timestamp)
		if k, ok := f.Tags.Get(uhiclient.TagDoctorsKey); ok && p.cfg.DoctorChatKey == nil {
			if dk, err := uhiclient.ParseChatKey(k); err == nil {
				p.cfg.DoctorChatKey = &dk
			}
		}
	}
	if a := onConfirm.Message.Order.Authorization; a != nil {
		got.PIN = string(a.Token)
	}
	return got, nil
}

// firstSlot is the catalog's first slot and its item.
func firstSlot(cat *uhiclient.BookingEnvelope) (*uhiclient.Fulfillment, *uhiclient.Item, bool) {
	if cat.Message.Catalog == nil {
		return nil, nil, false
	}
	for _, pr := range cat.Message.Catalog.Providers {
		for i := range pr.Fulfillments {
			f := pr.Fulfillments[i]
			if f.Start == nil {
				continue
			}
			for j := range pr.Items {
				if pr.Items[j].FulfillmentID == f.ID {
					it := pr.Items[j]
					return &f, &it, true
				}
			}
			return &f, &uhiclient.Item{FulfillmentID: f.ID}, true
		}
	}
	return nil, nil, false
}

// bookingRequest is the context of a booking request from this patient.
func (p *Patient) bookingRequest(action, txn, provider string) *uhiclient.BookingEnvelope {
	return &uhiclient.BookingEnvelope{Context: uhiclient.Context{
		Domain: uhiclient.DefaultDomain, Country: uhiclient.DefaultCountry, City: uhiclient.DefaultCity,
		Action: action, CoreVersion: uhiclient.DefaultCoreVersion,
		ConsumerID: "teleconsole-patient", ConsumerURI: p.URI(), ProviderURI: provider,
		TransactionID: txn, MessageID: uuid.NewString(), Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
	}}
}

// bookFirst books as Config.Book says and moves the patient's READY to
// the booking's transaction. It reports whether the patient goes on to
// the waiting room: not when the booking failed (the error is an event),
// nor for an in-clinic visit.
func (p *Patient) bookFirst(ctx context.Context) bool {
	b, err := p.book(ctx, *p.cfg.Book)
	if err != nil {
		p.emit(Event{Kind: EventError, Text: "booking failed: " + err.Error(), Err: err})
		return false
	}
	// The PIN is the patient's to show, not to log: it goes in Data.
	p.emit(Event{Kind: EventBooked, Text: fmt.Sprintf("booked %s, order %s", b.Start.Format("Mon 15:04"), b.OrderID),
		Data: []byte(b.PIN)})
	p.cfg.TransactionID = b.TransactionID
	builder, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self:          uhiclient.Person{Name: p.cfg.Name, Gender: p.cfg.Gender, Image: p.cfg.Image, Cred: p.cfg.Address},
		Peer:          uhiclient.Person{Cred: p.cfg.Doctor},
		ConsumerID:    "teleconsole-patient",
		ConsumerURI:   p.URI(),
		ProviderURI:   p.cfg.ConsoleURI,
		TransactionID: b.TransactionID,
	})
	if err != nil {
		p.emit(Event{Kind: EventError, Text: "booking: " + err.Error(), Err: err})
		return false
	}
	p.builder = builder
	// An in-clinic patient comes to the clinic with their PIN: their app
	// has no waiting room to READY from.
	return uhiclient.ParseServiceType(p.cfg.Book.Type) != uhiclient.ServicePhysical
}

// appointment reports what the console pushes about the booking after it
// is made: on_update (started, completed, the PIN checked), on_cancel.
func (p *Patient) appointment(env *uhiclient.BookingEnvelope) {
	o := env.Message.Order
	if o == nil {
		return
	}
	text := env.Context.Action + ": " + o.State
	if a := o.Authorization; a != nil && a.Status != "" {
		text += " (PIN " + a.Status + ")"
	}
	if r, ok := o.Tag(uhiclient.TagCancelReason); ok {
		text += " (" + r + ")"
	}
	p.emit(Event{Kind: EventAppointment, Text: text})
}

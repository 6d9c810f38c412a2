package booking

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// Desk is the doctor's front desk: it answers patients' searches, holds
// and books slots, and moves appointments through their day. Every change
// goes through the Store's compare-and-set, so several Desks on one Store
// (a hub's replicas) agree. A Desk is safe for concurrent use.
type Desk struct {
	plan   atomic.Pointer[Plan]
	store  Store
	now    func() time.Time
	rand   io.Reader
	pinKey []byte
	around time.Duration
}

// DeskOption configures a Desk.
type DeskOption func(*Desk) error

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) DeskOption {
	return func(d *Desk) error {
		if now == nil {
			return errors.New("booking: nil clock")
		}
		d.now = now
		return nil
	}
}

// WithRand sets where order ids and PINs come from (default crypto/rand).
func WithRand(r io.Reader) DeskOption {
	return func(d *Desk) error {
		if r == nil {
			return errors.New("booking: nil random source")
		}
		d.rand = r
		return nil
	}
}

// PINKeyLabel is what a PIN key is derived for from a UHI signing key
// (uhiclient.Signer.DeriveKey): every console and hub replica holding the
// same key derives the same PIN key.
const PINKeyLabel = "teleconsole booking PIN key"

// WithPINKey sets the secret the check-in PINs are hashed with. The key
// is kept out of the Store (the console derives it from its signing key),
// so a copy of the record alone cannot be searched for the PINs: there
// are only ten thousand. Without it a Desk makes a random key, and PINs
// do not survive a restart.
func WithPINKey(key []byte) DeskOption {
	return func(d *Desk) error {
		if len(key) < 16 {
			return errors.New("booking: PIN key shorter than 16 bytes")
		}
		d.pinKey = slices.Clone(key)
		return nil
	}
}

// NewDesk returns a Desk for the doctor of plan, keeping its orders in store.
func NewDesk(plan *Plan, store Store, opts ...DeskOption) (*Desk, error) {
	if plan == nil || store == nil {
		return nil, errors.New("booking: a desk needs a plan and a store")
	}
	d := &Desk{store: store, now: time.Now, rand: rand.Reader, around: time.Hour}
	d.plan.Store(plan)
	for _, o := range opts {
		if err := o(d); err != nil {
			return nil, err
		}
	}
	if d.pinKey == nil {
		d.pinKey = make([]byte, 32)
		if _, err := io.ReadFull(d.rand, d.pinKey); err != nil {
			return nil, fmt.Errorf("booking: PIN key: %w", err)
		}
	}
	return d, nil
}

// Plan is the schedule in force.
func (d *Desk) Plan() *Plan { return d.plan.Load() }

// SetPlan puts a new schedule in force. Booked appointments stay booked
// even where the new hours have no slot: the doctor cancels them if need be.
func (d *Desk) SetPlan(p *Plan) {
	if p != nil {
		d.plan.Store(p)
	}
}

// Doctor is the doctor's HPR address.
func (d *Desk) Doctor() string { return d.Plan().Doctor().HPR }

// Free lists the free slots of kind k (KindUnknown: all) starting in
// [from, to), clipped to the booking window from now on.
func (d *Desk) Free(ctx context.Context, k Kind, from, to time.Time) ([]Slot, error) {
	p, now := d.Plan(), d.now()
	if from.Before(now) {
		from = now
	}
	if end := now.Add(p.Window()); to.IsZero() || to.After(end) {
		to = end
	}
	if !from.Before(to) {
		return nil, nil
	}
	slots := p.Slots(k, from, to)
	orders, err := d.store.Orders(ctx, p.Doctor().HPR, from, to)
	if err != nil {
		return nil, err
	}
	taken := map[string]bool{}
	for _, o := range orders {
		if o.Holds(now) {
			taken[o.SlotID] = true
		}
	}
	return slices.DeleteFunc(slots, func(s Slot) bool { return taken[s.ID] }), nil
}

// InitRequest is a patient's init: the slot they want, and who they are.
type InitRequest struct {
	// SlotID is the fulfillment id from the catalog.
	SlotID string
	// Kind is the kind asked for; KindUnknown takes the slot's.
	Kind Kind
	// Start is the slot's start as the patient's app sent it, when it did:
	// it narrows the search for the slot to that day.
	Start time.Time
	// TransactionID is the booking's UHI transaction.
	TransactionID string
	// FulfillmentType is the type as the app spelled it, to echo.
	FulfillmentType string
	// Patient is who asks.
	Patient Patient
}

// Init holds a slot for the patient for HoldFor and returns the new order
// (StateHeld, with the terms to agree to). An init repeated for the same
// transaction and slot returns the order it made, still held.
func (d *Desk) Init(ctx context.Context, r InitRequest) (Order, error) {
	p, now := d.Plan(), d.now()
	if strings.TrimSpace(r.Patient.Address) == "" {
		return Order{}, fmt.Errorf("%w: the patient's ABHA address is missing", ErrNotYours)
	}
	var slot Slot
	var ok bool
	if !r.Start.IsZero() {
		day := r.Start.In(p.Zone())
		from := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, p.Zone())
		slot, ok = p.Slot(r.SlotID, from, from.AddDate(0, 0, 1))
	}
	if !ok {
		slot, ok = p.Slot(r.SlotID, now.Add(-24*time.Hour), now.Add(p.Window()))
	}
	switch {
	case !ok:
		return Order{}, fmt.Errorf("%w: %s", ErrNoSlot, r.SlotID)
	case r.Kind != KindUnknown && r.Kind != slot.Kind:
		return Order{}, fmt.Errorf("%w: %s is a %s slot", ErrWrongKind, r.SlotID, slot.Kind)
	case !slot.Start.After(now):
		return Order{}, fmt.Errorf("%w: %s started at %s", ErrSlotPast, r.SlotID, slot.Start.Format("2006-01-02 15:04"))
	case slot.Start.After(now.Add(p.Window())):
		return Order{}, fmt.Errorf("%w: %s is beyond the booking window", ErrNoSlot, r.SlotID)
	}
	if r.TransactionID != "" {
		if o, err := d.store.OrderByTransaction(ctx, p.Doctor().HPR, r.TransactionID); err == nil &&
			o.SlotID == slot.ID && o.State == StateHeld && o.Holds(now) && o.Patient.Address == r.Patient.Address {
			return o, nil
		}
	}
	fee, _ := ParseRupees(slot.Fee)
	id, err := d.newOrderID(ctx)
	if err != nil {
		return Order{}, err
	}
	o := Order{ID: id, TransactionID: r.TransactionID, Doctor: p.Doctor().HPR, SlotID: slot.ID, Kind: slot.Kind,
		Start: slot.Start, End: slot.End, FulfillmentType: r.FulfillmentType, Fee: fee, Patient: r.Patient,
		State: StateHeld, Changed: now, HeldUntil: now.Add(HoldFor), Terms: DefaultTerms(Rupees(fee)), Created: now}
	if err := d.store.Claim(ctx, slot.ID, o.ID, o.HeldUntil, now); err != nil {
		return Order{}, fmt.Errorf("%s at %s: %w", slot.Kind, slot.Start.Format("2006-01-02 15:04"), err)
	}
	if o.Revision, err = d.store.PutOrder(ctx, o); err != nil {
		if !errors.Is(err, ErrConflict) { // a conflict is an order of the same id, whose claim this may be
			_ = d.store.Release(ctx, slot.ID, o.ID)
		}
		return Order{}, err
	}
	return o, nil
}

// newOrderID mints an order id that no stored order has.
func (d *Desk) newOrderID(ctx context.Context) (string, error) {
	for range 3 {
		id, err := d.orderID()
		if err != nil {
			return "", err
		}
		if _, err := d.store.Order(ctx, id); errors.Is(err, ErrNoOrder) {
			return id, nil
		} else if err != nil {
			return "", err
		}
	}
	return "", fmt.Errorf("booking: order id: %w three times", ErrConflict)
}

// ConfirmRequest is a patient's confirm of an order init made.
type ConfirmRequest struct {
	// OrderID is the id on_init gave.
	OrderID string
	// Who is the patient confirming.
	Who Who
	// Terms are the terms as the app returned them; every term offered
	// must come back AGREED. A teleconsultation booked in the reference
	// apps' shape has none, and may return none.
	Terms []Term
	// ChatKey is the patient's chat public key, when sent.
	ChatKey string
}

// Who is the party asking about an order: its ABHA address and its app's
// subscriber id, either of which may be unknown ("").
type Who struct {
	Address    string
	ConsumerID string
}

func (w Who) owns(o Order) bool {
	if w.Address != "" && !strings.EqualFold(w.Address, o.Patient.Address) {
		return false
	}
	return w.ConsumerID == "" || o.Patient.ConsumerID == "" || w.ConsumerID == o.Patient.ConsumerID
}

// Confirm books the held slot for good and returns the order and, for an
// in-clinic visit, the check-in PIN, which exists nowhere else: the order
// keeps only its keyed hash. A refusal changes nothing, except that a
// confirm that comes after another patient took a lapsed hold's slot
// marks the order lapsed.
func (d *Desk) Confirm(ctx context.Context, r ConfirmRequest) (Order, string, error) {
	var pin string
	o, err := d.change(ctx, r.OrderID, func(o *Order, now time.Time) error {
		if !r.Who.owns(*o) {
			return ErrNotYours
		}
		if o.State != StateHeld {
			return fmt.Errorf("%w: the order is %s", ErrBadState, o.State)
		}
		if err := agreed(o.Terms, r.Terms, o.Kind); err != nil {
			return err
		}
		if err := d.store.Keep(ctx, o.SlotID, o.ID); err != nil {
			if errors.Is(err, ErrSlotTaken) {
				o.State, o.Changed = StateLapsed, now
				return errLapsed
			}
			return err
		}
		o.State, o.Changed, o.HeldUntil = StateConfirmed, now, time.Time{}
		if r.ChatKey != "" {
			o.Patient.ChatKey = r.ChatKey
		}
		for i := range o.Terms {
			o.Terms[i].State = TermAgreed
		}
		if o.Kind == KindPhysical {
			var err error
			if pin, err = d.newPIN(); err != nil {
				return err
			}
			day := o.Start.In(d.Plan().Zone())
			o.PINHash, o.PINStatus, o.PINValidFrom = d.pinHash(o.ID, pin), PINGenerated, now
			o.PINValidTo = time.Date(day.Year(), day.Month(), day.Day(), 23, 59, 59, 0, day.Location())
		}
		return nil
	})
	if errors.Is(err, errLapsed) {
		return o, "", fmt.Errorf("%w: another patient has booked the slot", ErrHoldExpired)
	}
	return o, pin, err
}

// errLapsed makes change store the order marked lapsed, then refuse.
var errLapsed = errors.New("lapsed")

func agreed(offered, returned []Term, k Kind) error {
	if len(returned) == 0 && k == KindTele {
		return nil
	}
	for _, t := range offered {
		i := slices.IndexFunc(returned, func(r Term) bool { return strings.EqualFold(r.Name, t.Name) })
		switch {
		case i < 0:
			return fmt.Errorf("%w: the %s term was not returned", ErrTermsNotAgreed, t.Name)
		case !strings.EqualFold(returned[i].State, TermAgreed):
			return fmt.Errorf("%w: the %s term is %s", ErrTermsNotAgreed, t.Name, returned[i].State)
		}
	}
	return nil
}

// Status returns the order for the patient who booked it.
func (d *Desk) Status(ctx context.Context, id string, who Who) (Order, error) {
	o, err := d.store.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if !who.owns(o) {
		return Order{}, ErrNotYours
	}
	return d.lapse(o), nil
}

// lapse shows a hold that ran out as lapsed.
func (d *Desk) lapse(o Order) Order {
	if o.State == StateHeld && !o.Holds(d.now()) {
		o.State = StateLapsed
	}
	return o
}

// Cancel cancels the order for its patient (who) or its doctor (by),
// with one of by's reason codes, optionally followed by free text
// ("DOCTOR_OTHER: called away"), and frees the slot.
func (d *Desk) Cancel(ctx context.Context, id string, who Who, by, reason string) (Order, error) {
	code, _, _ := strings.Cut(strings.TrimSpace(reason), ":")
	code = strings.TrimSpace(code)
	switch by {
	case CancelledByPatient:
		if !validReason(code, PatientCancelReasons()) {
			return Order{}, fmt.Errorf("%w: %q is not a patient's cancel reason", ErrBadReason, code)
		}
	case CancelledByDoctor:
		if !validReason(code, DoctorCancelReasons()) {
			return Order{}, fmt.Errorf("%w: %q is not a doctor's cancel reason", ErrBadReason, code)
		}
	default:
		return Order{}, fmt.Errorf("%w: cancelled by %q (patient or doctor)", ErrBadReason, by)
	}
	return d.change(ctx, id, func(o *Order, now time.Time) error {
		if by == CancelledByPatient && !who.owns(*o) {
			return ErrNotYours
		}
		if o.State != StateHeld && o.State != StateConfirmed && o.State != StateArrived {
			return fmt.Errorf("%w: the order is %s", ErrBadState, o.State)
		}
		if err := d.store.Release(ctx, o.SlotID, o.ID); err != nil {
			return err
		}
		o.State, o.Changed, o.CancelledBy, o.CancelReason = StateCancelled, now, by, strings.TrimSpace(reason)
		return nil
	})
}

// CheckIn checks an in-clinic patient in with the PIN they were sent.
func (d *Desk) CheckIn(ctx context.Context, id, pin string) (Order, error) {
	return d.change(ctx, id, func(o *Order, now time.Time) error {
		if o.State != StateConfirmed {
			return fmt.Errorf("%w: the order is %s", ErrBadState, o.State)
		}
		if o.PINStatus != PINGenerated || now.After(o.PINValidTo) || now.Before(o.PINValidFrom) ||
			!hmac.Equal([]byte(d.pinHash(o.ID, strings.TrimSpace(pin))), []byte(o.PINHash)) {
			return ErrBadPIN
		}
		o.State, o.Changed, o.PINStatus = StateArrived, now, PINVerified
		return nil
	})
}

// Override checks an in-clinic patient in without the PIN, for one of
// the override reason codes.
func (d *Desk) Override(ctx context.Context, id, code string) (Order, error) {
	if !validReason(code, OverrideReasons()) {
		return Order{}, fmt.Errorf("%w: %q is not an override reason", ErrBadReason, code)
	}
	return d.change(ctx, id, func(o *Order, now time.Time) error {
		if o.State != StateConfirmed {
			return fmt.Errorf("%w: the order is %s", ErrBadState, o.State)
		}
		o.State, o.Changed, o.PINStatus, o.Override = StateArrived, now, PINOverridden, code
		return nil
	})
}

// Arrive marks a teleconsultation's patient arrived: their READY came.
func (d *Desk) Arrive(ctx context.Context, id string) (Order, error) {
	return d.move(ctx, id, StateArrived, StateConfirmed)
}

// Start marks the consultation started (APPOINTMENT_STARTED).
func (d *Desk) Start(ctx context.Context, id string) (Order, error) {
	return d.move(ctx, id, StateInCall, StateConfirmed, StateArrived)
}

// Complete marks the consultation over.
func (d *Desk) Complete(ctx context.Context, id string) (Order, error) {
	return d.move(ctx, id, StateCompleted, StateInCall, StateArrived)
}

// NoShow marks a booked patient who never came.
func (d *Desk) NoShow(ctx context.Context, id string) (Order, error) {
	return d.move(ctx, id, StateNoShow, StateConfirmed)
}

func (d *Desk) move(ctx context.Context, id string, to State, from ...State) (Order, error) {
	return d.change(ctx, id, func(o *Order, now time.Time) error {
		if o.State == to {
			return errUnchanged
		}
		if !slices.Contains(from, o.State) {
			return fmt.Errorf("%w: the order is %s, not %s", ErrBadState, o.State, joinStates(from))
		}
		o.State, o.Changed = to, now
		return nil
	})
}

func joinStates(s []State) string {
	names := make([]string, len(s))
	for i, st := range s {
		names[i] = st.String()
	}
	return strings.Join(names, " or ")
}

// errUnchanged makes change return the order as it is, with no write.
var errUnchanged = errors.New("unchanged")

// Expected returns the teleconsultation that a READY with transaction txn
// is the patient of, if it is booked for about now (within an hour of its
// slot) and not over.
func (d *Desk) Expected(ctx context.Context, txn string) (Order, bool) {
	if txn == "" {
		return Order{}, false
	}
	o, err := d.store.OrderByTransaction(ctx, d.Doctor(), txn)
	now := d.now()
	if err != nil || o.Kind != KindTele || !o.State.Booked() || o.State.Final() ||
		now.Before(o.Start.Add(-d.around)) || now.After(o.End.Add(d.around)) {
		return Order{}, false
	}
	return o, true
}

// Day lists the appointments of the day of t (in the schedule's zone):
// every order booked, in time order, with lapsed holds left out.
func (d *Desk) Day(ctx context.Context, t time.Time) ([]Order, error) {
	p := d.Plan()
	t = t.In(p.Zone())
	from := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, p.Zone())
	orders, err := d.store.Orders(ctx, p.Doctor().HPR, from, from.AddDate(0, 0, 1))
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(orders, func(o Order) bool { return !o.State.Booked() }), nil
}

// Order returns the order with id.
func (d *Desk) Order(ctx context.Context, id string) (Order, error) {
	o, err := d.store.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	return d.lapse(o), nil
}

// change applies f to a fresh read of order id and stores it with
// compare-and-set, again from a fresh read when another writer came
// first. f's error refuses the change (errUnchanged: no change, no error;
// errLapsed: the change is stored, the error returned).
func (d *Desk) change(ctx context.Context, id string, f func(o *Order, now time.Time) error) (Order, error) {
	for range 5 {
		o, err := d.store.Order(ctx, id)
		if err != nil {
			return Order{}, err
		}
		fErr := f(&o, d.now())
		switch {
		case errors.Is(fErr, errUnchanged):
			return o, nil
		case fErr != nil && !errors.Is(fErr, errLapsed):
			return Order{}, fErr
		}
		rev, err := d.store.PutOrder(ctx, o)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return Order{}, err
		}
		o.Revision = rev
		return o, fErr
	}
	return Order{}, fmt.Errorf("order %s: %w five times", id, ErrConflict)
}

// orderID mints an id in the reference's shape, NNNN-NNNNNN-NNNN.
func (d *Desk) orderID() (string, error) {
	var b [8]byte
	if _, err := io.ReadFull(d.rand, b[:]); err != nil {
		return "", fmt.Errorf("booking: order id: %w", err)
	}
	n := binary.BigEndian.Uint64(b[:]) % 1e14
	return fmt.Sprintf("%04d-%06d-%04d", n/1e10, n/1e4%1e6, n%1e4), nil
}

// newPIN draws a 4-digit PIN, uniformly.
func (d *Desk) newPIN() (string, error) {
	var b [2]byte
	for {
		if _, err := io.ReadFull(d.rand, b[:]); err != nil {
			return "", fmt.Errorf("booking: PIN: %w", err)
		}
		if n := binary.BigEndian.Uint16(b[:]); n < 60000 { // 60000 = 6 x 10000: no bias
			return fmt.Sprintf("%04d", n%10000), nil
		}
	}
}

func (d *Desk) pinHash(orderID, pin string) string {
	m := hmac.New(sha256.New, d.pinKey)
	m.Write([]byte(orderID + "\x00" + pin))
	return hex.EncodeToString(m.Sum(nil))
}

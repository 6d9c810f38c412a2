package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"teleconsole/booking"
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

// poster posts an encoded body to a peer's action path.
type poster interface {
	PostAction(ctx context.Context, baseURI, action string, body []byte) error
}

// frontDesk answers patients' booking requests and tells them of the
// doctor's changes: the booking domain (booking.Desk) on the UHI wire.
type frontDesk struct {
	desk       *booking.Desk
	build      *uhiclient.BookingBuilder
	out        poster
	gateway    string
	helpline   string
	doctorsKey string // the doctor's chat public key, "" without one
	providerID string
	log        *slog.Logger
	sends      sync.WaitGroup
	sendCtx    context.Context // cancelled by abort

	mu       sync.Mutex
	told     map[string]string            // order id: the last callback's outcome, for the doctor
	chatKeys map[string]uhiclient.ChatKey // patient address: chat key from confirm
}

func newFrontDesk(b Booking, providerID, providerURI string, out poster, doctorsKey string, log *slog.Logger) (*frontDesk, error) {
	build, err := uhiclient.NewBookingBuilder(providerID, providerURI)
	if err != nil {
		return nil, err
	}
	return &frontDesk{desk: b.Desk, build: build, out: out, gateway: strings.TrimSpace(b.Gateway), helpline: b.Helpline,
		doctorsKey: doctorsKey, providerID: providerID, log: log, sendCtx: context.Background(),
		told: map[string]string{}, chatKeys: map[string]uhiclient.ChatKey{}}, nil
}

// handle answers one accepted booking request (uhiclient.BookingHandler).
func (f *frontDesk) handle(ctx context.Context, req *uhiclient.BookingRequest) {
	env := req.Envelope
	log := f.log.With("action", req.Action, "transaction_id", env.Context.TransactionID, "message_id", env.Context.MessageID)
	switch req.Action {
	case uhiclient.ActionSearch:
		if req.ViaGateway {
			f.catalog(ctx, env, log)
		} else {
			f.slots(ctx, env, log)
		}
	case uhiclient.ActionInit:
		f.init(ctx, env, log)
	case uhiclient.ActionConfirm:
		f.confirm(ctx, req, log)
	case uhiclient.ActionStatus:
		f.status(ctx, req, log)
	case uhiclient.ActionCancel:
		f.cancel(ctx, req, log)
	case uhiclient.ActionOnUpdate:
		f.patientUpdate(env, log)
	}
}

// doctor is the catalog's view of the schedule's doctor.
func (f *frontDesk) doctor() (uhiclient.Doctor, uhiclient.Facility) {
	p := f.desk.Plan().Doctor()
	d := uhiclient.Doctor{HPRAddress: p.HPR, Name: p.Name, Gender: p.Gender, Image: p.Image,
		Speciality: firstOf(p.SpecialityCode, p.Speciality), SpecialityName: p.Speciality, SystemOfMedicine: p.System,
		Languages: strings.Join(p.Languages, ","), Education: p.Education, HPRID: p.HPRID,
		HFRID: p.Facility.HFR, HIPID: p.Facility.HIP, UPIID: p.UPI}
	if p.ExperienceYears > 0 {
		d.Experience = fmt.Sprintf("%d.0", p.ExperienceYears)
	}
	fac := uhiclient.Facility{ID: f.providerID, Name: firstOf(p.Facility.Name, p.Name)}
	if p.Facility.City != "" || p.Facility.Pincode != "" || p.Facility.GPS != "" {
		fac.Location = &uhiclient.Location{GPS: p.Facility.GPS, Address: &uhiclient.Address{Name: p.Facility.Address,
			City: p.Facility.City, State: p.Facility.State, AreaCode: p.Facility.Pincode}}
	}
	return d, fac
}

func firstOf(s ...string) string {
	for _, v := range s {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// kindOf maps the wire's service type to the domain's kind.
func kindOf(t uhiclient.ServiceType) booking.Kind {
	switch t {
	case uhiclient.ServicePhysical:
		return booking.KindPhysical
	case uhiclient.ServiceTeleconsultation:
		return booking.KindTele
	}
	return booking.KindUnknown
}

// wireType is the fulfillment type to write for kind k, as the patient's
// app spelled it when it did (docs/protocol.md §8).
func wireType(k booking.Kind, sent string) string {
	switch k {
	case booking.KindPhysical:
		return uhiclient.ServicePhysical.Wire(sent)
	case booking.KindTele:
		return uhiclient.ServiceTeleconsultation.Wire(sent)
	}
	return sent
}

// catalog answers the gateway's broadcast search: this doctor, if the
// search's filters let them in; otherwise nothing, as an HSPA with no
// match says nothing (docs/booking.md §1).
func (f *frontDesk) catalog(ctx context.Context, env *uhiclient.BookingEnvelope, log *slog.Logger) {
	in := env.Message.Intent
	doc, fac := f.doctor()
	plan := f.desk.Plan()
	var sent string
	kinds := booking.Kinds()
	if in != nil && in.Fulfillment != nil {
		sent = in.Fulfillment.Type
		if k := kindOf(in.Fulfillment.ServiceType()); k != booking.KindUnknown {
			kinds = []booking.Kind{k}
		} else if strings.TrimSpace(sent) != "" {
			log.Info("search for a service type not offered", "type", sent)
			return
		}
	}
	if why := f.mismatch(in, doc, fac); why != "" {
		log.Debug("search does not match the doctor", "why", why)
		return
	}
	var docs []uhiclient.CatalogDoctor
	for _, k := range kinds {
		if !plan.Offers(k) {
			continue
		}
		fee, _ := booking.ParseRupees(plan.Fee(k))
		docs = append(docs, uhiclient.CatalogDoctor{Doctor: doc, FulfillmentID: doc.HPRAddress + "/" + k.String(),
			Type: wireType(k, sent), Fee: booking.Rupees(fee)})
	}
	if len(docs) == 0 {
		log.Info("search for a service the doctor does not offer")
		return
	}
	target := f.gateway
	if target == "" {
		target = env.Context.ConsumerURI
	}
	f.post(ctx, target, f.build.OnSearchDoctors(env.Context, fac.Name, fac, docs), "", false, log)
}

// mismatch says why a search's filters leave this doctor out, or "".
func (f *frontDesk) mismatch(in *uhiclient.SearchIntent, doc uhiclient.Doctor, fac uhiclient.Facility) string {
	if in == nil {
		return ""
	}
	has := func(field, want string) bool {
		return want == "" || strings.Contains(strings.ToLower(field), strings.ToLower(strings.TrimSpace(want)))
	}
	if ff := in.Fulfillment; ff != nil && ff.Agent != nil {
		if id := firstOf(ff.Agent.ID, ff.Agent.Cred); id != "" && !strings.EqualFold(strings.TrimSpace(id), doc.HPRAddress) {
			return "doctor " + id
		}
		if !has(doc.Name, ff.Agent.Name) {
			return "name " + ff.Agent.Name
		}
	}
	if c := in.Category; c != nil && c.Descriptor != nil {
		if want := firstOf(c.Descriptor.Code, c.Descriptor.Name); want != "" &&
			!strings.EqualFold(want, doc.Speciality) && !strings.EqualFold(want, doc.SpecialityName) {
			return "speciality " + want
		}
	}
	if p := in.Provider; p != nil && p.Descriptor != nil && !has(fac.Name, p.Descriptor.Name) {
		return "facility " + p.Descriptor.Name
	}
	if l := in.Location; l != nil && fac.Location != nil && fac.Location.Address != nil {
		a := fac.Location.Address
		if l.Address != nil && l.Address.AreaCode != "" && l.Address.AreaCode != a.AreaCode {
			return "pincode " + l.Address.AreaCode
		}
		if l.City != nil && firstOf(l.City.Name, l.City.Code) != "" && !has(a.City, firstOf(l.City.Name, l.City.Code)) {
			return "city"
		}
	}
	return ""
}

// maxSlots bounds one catalog of slots: a month of a busy doctor's.
const maxSlots = 500

// slots answers a patient's app's own search: the doctor's free slots of
// the kind asked, in the window asked (the next seven days by default).
func (f *frontDesk) slots(ctx context.Context, env *uhiclient.BookingEnvelope, log *slog.Logger) {
	doc, fac := f.doctor()
	in := env.Message.Intent
	kind, sent := booking.KindUnknown, ""
	var from, to time.Time
	if in != nil && in.Fulfillment != nil {
		ff := in.Fulfillment
		kind, sent = kindOf(ff.ServiceType()), ff.Type
		if ff.Agent != nil {
			if id := firstOf(ff.Agent.ID, ff.Agent.Cred); id != "" && !strings.EqualFold(strings.TrimSpace(id), doc.HPRAddress) {
				f.refuse(ctx, env.Context, uhiclient.ActionOnSearch, uhiclient.CodeBadOrder,
					fmt.Sprintf("%s is not a doctor of this provider (%s is)", id, doc.HPRAddress), nil, log)
				return
			}
		}
		from, to = stopTime(ff.Start), stopTime(ff.End)
	}
	if from.IsZero() {
		from = time.Now()
	}
	if to.IsZero() || !to.After(from) {
		to = from.Add(7 * 24 * time.Hour)
	}
	free, err := f.desk.Free(ctx, kind, from, to)
	if err != nil {
		log.Error("free slots", "err", err)
		f.refuse(ctx, env.Context, uhiclient.ActionOnSearch, uhiclient.CodeUnavailable, "the schedule cannot be read now; retry", nil, log)
		return
	}
	var out []uhiclient.CatalogSlot
	for _, s := range free[:min(len(free), maxSlots)] {
		out = append(out, uhiclient.CatalogSlot{ID: s.ID, Type: wireType(s.Kind, sent), Start: s.Start, End: s.End, Fee: feeText(s.Fee)})
	}
	f.post(ctx, env.Context.ConsumerURI, f.build.OnSearchSlots(env.Context, fac.Name, fac, doc, out), "", false, log)
}

// feeText writes a schedule's fee as the catalog's price: "500.00".
func feeText(fee string) string {
	p, err := booking.ParseRupees(fee)
	if err != nil {
		return fee
	}
	return booking.Rupees(p)
}

// stopTime reads a fulfillment's start or end; zero when absent (the
// decoder has refused a malformed one).
func stopTime(s *uhiclient.Stop) time.Time {
	if s == nil || strings.TrimSpace(s.Time.Timestamp) == "" {
		return time.Time{}
	}
	t, err := uhiclient.ParseLocalTime(s.Time.Timestamp)
	if err != nil {
		return time.Time{}
	}
	return t
}

// slotOf finds the slot an order names: its fulfillment's id, the
// slot_id tag, or the item's fulfillment_id.
func slotOf(o *uhiclient.Order) string {
	if o == nil {
		return ""
	}
	if o.Fulfillment != nil && strings.TrimSpace(o.Fulfillment.ID) != "" {
		return strings.TrimSpace(o.Fulfillment.ID)
	}
	if v, ok := o.Tag(uhiclient.TagSlotID); ok && v != "" {
		return v
	}
	if it := o.TheItem(); it != nil {
		return strings.TrimSpace(it.FulfillmentID)
	}
	return ""
}

func (f *frontDesk) init(ctx context.Context, env *uhiclient.BookingEnvelope, log *slog.Logger) {
	o := env.Message.Order
	r := booking.InitRequest{SlotID: slotOf(o), TransactionID: env.Context.TransactionID,
		Patient: booking.Patient{ConsumerID: env.Context.ConsumerID, ConsumerURI: env.Context.ConsumerURI}}
	if o.Fulfillment != nil {
		r.Kind, r.FulfillmentType, r.Start = kindOf(o.Fulfillment.ServiceType()), o.Fulfillment.Type, stopTime(o.Fulfillment.Start)
	}
	if o.Customer != nil {
		r.Patient.Address = o.Customer.Address()
		if p := o.Customer.Person; p != nil {
			r.Patient.Name, r.Patient.Gender, r.Patient.DOB = p.Name, p.Gender, p.DOB
		}
	}
	if b := o.Billing; b != nil {
		r.Patient.Name = firstOf(r.Patient.Name, b.Name)
		r.Patient.Phone, r.Patient.Email = b.Phone, b.Email
	}
	order, err := f.desk.Init(ctx, r)
	if err != nil {
		f.refuse(ctx, env.Context, uhiclient.ActionOnInit, codeOf(err), err.Error(), nil, log)
		return
	}
	var terms []uhiclient.Term
	if order.Kind == booking.KindPhysical {
		texts := map[string]uhiclient.TermText{}
		for _, t := range order.Terms {
			texts[t.Name] = uhiclient.TermText{Name: t.Name + " terms", Short: t.Text}
		}
		terms = uhiclient.InitiatedTerms(order.Start, texts)
	}
	log.Info("slot held", "order", order.ID, "kind", order.Kind.String(), "start", order.Start, "until", order.HeldUntil)
	f.post(ctx, env.Context.ConsumerURI, f.build.OnInit(env, order.ID, uhiclient.ConsultationQuote(booking.Rupees(order.Fee)), terms), order.ID, false, log)
}

// who is the party of a request: the ABHA address it gives, and the
// patient's app as its signature names it (else as its context says).
func who(req *uhiclient.BookingRequest) booking.Who {
	w := booking.Who{ConsumerID: req.Envelope.Context.ConsumerID}
	if sub, _, err := uhiclient.ParseKeyID(req.KeyID); err == nil && sub != "" {
		w.ConsumerID = sub
	}
	if o := req.Envelope.Message.Order; o != nil && o.Customer != nil {
		w.Address = o.Customer.Address()
	}
	return w
}

func (f *frontDesk) confirm(ctx context.Context, req *uhiclient.BookingRequest, log *slog.Logger) {
	env := req.Envelope
	o := env.Message.Order
	r := booking.ConfirmRequest{OrderID: strings.TrimSpace(o.ID), Who: who(req)}
	for _, t := range o.Terms {
		r.Terms = append(r.Terms, booking.Term{Name: t.Type, State: t.TermsState})
	}
	if k, ok := o.Tag(uhiclient.TagPatientKey); ok {
		r.ChatKey = strings.TrimSpace(k)
	}
	order, pin, err := f.desk.Confirm(ctx, r)
	if err != nil {
		failed := *o
		failed.State = uhiclient.StateFailed
		f.refuse(ctx, env.Context, uhiclient.ActionOnConfirm, codeOf(err), err.Error(), &failed, log)
		return
	}
	c := uhiclient.Confirmation{State: uhiclient.StateConfirmed, MessagingSupport: true, HelplineNumber: f.helpline}
	if pin != "" {
		c.Authorization = uhiclient.PINAuthorization(pin, order.Changed, order.Start)
	}
	if order.Patient.ChatKey != "" {
		if k, err := uhiclient.ParseChatKey(order.Patient.ChatKey); err == nil {
			f.keepChatKey(order.Patient.Address, k)
			c.DoctorsKey = f.doctorsKey
		} else {
			log.Info("the patient's chat key is not usable", "err", err)
		}
	}
	log.Info("appointment booked", "order", order.ID, "kind", order.Kind.String(), "start", order.Start, "patient", order.Patient.Address)
	f.post(ctx, env.Context.ConsumerURI, f.build.OnConfirm(env, c), order.ID, true, log)
}

func (f *frontDesk) status(ctx context.Context, req *uhiclient.BookingRequest, log *slog.Logger) {
	env := req.Envelope
	order, err := f.desk.Status(ctx, strings.TrimSpace(env.Message.Order.ID), who(req))
	if err != nil {
		f.refuse(ctx, env.Context, uhiclient.ActionOnStatus, codeOf(err), err.Error(), env.Message.Order, log)
		return
	}
	f.post(ctx, env.Context.ConsumerURI, f.build.OnStatus(env.Context, f.wireOrder(order)), order.ID, true, log)
}

func (f *frontDesk) cancel(ctx context.Context, req *uhiclient.BookingRequest, log *slog.Logger) {
	env := req.Envelope
	o := env.Message.Order
	by, _ := o.Tag(uhiclient.TagCancelledBy)
	reason, _ := o.Tag(uhiclient.TagCancelReason)
	if !strings.EqualFold(strings.TrimSpace(by), booking.CancelledByPatient) {
		f.refuse(ctx, env.Context, uhiclient.ActionOnCancel, uhiclient.CodeNotYours,
			fmt.Sprintf("a patient's app cancels as the patient, not as %q", by), o, log)
		return
	}
	order, err := f.desk.Cancel(ctx, strings.TrimSpace(o.ID), who(req), booking.CancelledByPatient, reason)
	if err != nil {
		f.refuse(ctx, env.Context, uhiclient.ActionOnCancel, codeOf(err), err.Error(), o, log)
		return
	}
	log.Info("appointment cancelled by the patient", "order", order.ID, "reason", reason)
	f.post(ctx, env.Context.ConsumerURI, f.build.OnCancel(env.Context, f.wireOrder(order), booking.CancelledByPatient, reason), order.ID, true, log)
}

// patientUpdate takes the patient's app's on_update: the one it sends is
// DOCTOR_NO_SHOW, which the doctor is shown.
func (f *frontDesk) patientUpdate(env *uhiclient.BookingEnvelope, log *slog.Logger) {
	o := env.Message.Order
	if o == nil {
		return
	}
	if strings.EqualFold(o.State, uhiclient.StateDoctorNoShow) {
		log.Warn("the patient reports the doctor did not show", "order", o.ID)
		f.note(o.ID, "the patient reports the doctor did not show")
		return
	}
	log.Info("on_update from the patient's app", "order", o.ID, "state", o.State)
}

// wireOrder is a stored order as the patient's app is told it.
func (f *frontDesk) wireOrder(o booking.Order) *uhiclient.Order {
	doc, _ := f.doctor()
	fee := booking.Rupees(o.Fee)
	w := &uhiclient.Order{ID: o.ID, State: o.State.Wire(), Provider: &uhiclient.Provider{ID: f.providerID},
		Item: &uhiclient.Item{ID: doc.HPRAddress, Descriptor: &uhiclient.Descriptor{Code: "Consultation", Name: "Consultation"},
			Price: &uhiclient.Price{Currency: uhiclient.CurrencyINR, Value: fee}, FulfillmentID: o.SlotID},
		Fulfillment: &uhiclient.Fulfillment{ID: o.SlotID, Type: wireType(o.Kind, o.FulfillmentType),
			Agent: &uhiclient.Agent{ID: doc.HPRAddress, Name: doc.Name}, Start: uhiclient.At(o.Start), End: uhiclient.At(o.End),
			Tags: uhiclient.Tags{}.Set(uhiclient.TagSlotID, o.SlotID)},
		Customer: &uhiclient.Customer{ID: o.Patient.Address, Person: &uhiclient.CustomerPerson{Name: o.Patient.Name,
			Gender: o.Patient.Gender, DOB: o.Patient.DOB}},
		Quote: uhiclient.ConsultationQuote(fee)}
	if o.PINStatus != booking.PINNone {
		w.Authorization = &uhiclient.OrderAuthorization{Type: uhiclient.AuthorizationPIN, Status: o.PINStatus.Wire(),
			ValidFrom: uhiclient.FormatLocalTime(o.PINValidFrom), ValidTo: uhiclient.FormatLocalTime(o.PINValidTo)}
	}
	if o.Override != "" {
		w.Fulfillment.Tags = w.Fulfillment.Tags.Set("override_reason", o.Override)
	}
	return w
}

// codeOf is the UHI code of a booking refusal (docs/booking.md §4).
func codeOf(err error) string {
	switch {
	case errors.Is(err, booking.ErrNoSlot), errors.Is(err, booking.ErrSlotTaken), errors.Is(err, booking.ErrHoldExpired),
		errors.Is(err, booking.ErrSlotPast), errors.Is(err, booking.ErrWrongKind):
		return uhiclient.CodeSlotTaken
	case errors.Is(err, booking.ErrNoOrder):
		return uhiclient.CodeUnknownOrder
	case errors.Is(err, booking.ErrNotYours):
		return uhiclient.CodeNotYours
	case errors.Is(err, booking.ErrTermsNotAgreed):
		return uhiclient.CodeTermsNotAgreed
	case errors.Is(err, booking.ErrBadReason), errors.Is(err, booking.ErrBadState):
		return uhiclient.CodeBadOrder
	}
	return uhiclient.CodeUnavailable
}

// refuse sends an error callback: the business answer is no.
func (f *frontDesk) refuse(ctx context.Context, req uhiclient.Context, action, code, msg string, o *uhiclient.Order, log *slog.Logger) {
	log.Info("booking refused", "code", code, "reason", msg)
	audit := action != uhiclient.ActionOnSearch && action != uhiclient.ActionOnInit
	f.post(ctx, req.ConsumerURI, f.build.ErrorCallback(req, action, code, msg, o), "", audit, log)
}

// post sends a callback, retried by the client, and, when audit is set
// and there is a gateway, the same bytes to the gateway's audit path
// (docs/booking.md §1). The outcome is logged, and kept for the order's
// line on the doctor's day.
func (f *frontDesk) post(ctx context.Context, base string, env *uhiclient.BookingEnvelope, orderID string, audit bool, log *slog.Logger) {
	action := env.Context.Action
	body, err := uhiclient.MarshalBooking(env)
	if err == nil {
		err = f.out.PostAction(ctx, base, action, body)
	}
	if err != nil {
		log.Warn("callback not delivered", "callback", action, "to", base, "order", orderID, "err", err)
		if orderID != "" {
			f.note(orderID, action+" not delivered: "+err.Error())
		}
	} else {
		log.Debug("callback delivered", "callback", action, "to", base)
		if orderID != "" {
			f.note(orderID, "")
		}
	}
	if audit && f.gateway != "" && body != nil {
		if err := f.out.PostAction(ctx, f.gateway, uhiclient.AuditAction(action), body); err != nil {
			log.Warn("audit copy not delivered", "callback", action, "gateway", f.gateway, "err", err)
		}
	}
}

// note keeps what the patient's app was last told of an order, for the
// doctor: "" when it was told, the failure otherwise.
func (f *frontDesk) note(orderID, s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s == "" {
		delete(f.told, orderID)
		return
	}
	f.told[orderID] = s
}

// undelivered is what the patient's app could not be told of an order.
func (f *frontDesk) undelivered(orderID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.told[orderID]
}

func (f *frontDesk) keepChatKey(addr string, k uhiclient.ChatKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chatKeys[strings.ToLower(addr)] = k
}

// chatKey is the chat key a patient sent when they booked.
func (f *frontDesk) chatKey(addr string) (uhiclient.ChatKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.chatKeys[strings.ToLower(addr)]
	return k, ok
}

// tell pushes a change the doctor made to the patient's app, in the
// background, to the consumer_uri the order stored (never one a request
// names): on_cancel for a cancel, on_update otherwise.
func (f *frontDesk) tell(o booking.Order) {
	req := uhiclient.Context{TransactionID: o.TransactionID, ConsumerID: o.Patient.ConsumerID, ConsumerURI: o.Patient.ConsumerURI}
	var env *uhiclient.BookingEnvelope
	if o.State == booking.StateCancelled {
		env = f.build.OnCancel(req, f.wireOrder(o), booking.CancelledByDoctor, o.CancelReason)
	} else {
		env = f.build.OnUpdate(req, f.wireOrder(o))
	}
	log := f.log.With("action", env.Context.Action, "transaction_id", o.TransactionID, "order", o.ID)
	f.sends.Go(func() { f.post(f.sendCtx, o.Patient.ConsumerURI, env, o.ID, true, log) })
}

// arrive marks the teleconsultation a READY on transaction txn belongs to
// as arrived, and takes its patient's chat key, in the background.
func (f *frontDesk) arrive(txn string) {
	f.sends.Go(func() {
		o, ok := f.desk.Expected(f.sendCtx, txn)
		if !ok {
			return
		}
		if k, err := uhiclient.ParseChatKey(o.Patient.ChatKey); err == nil && o.Patient.ChatKey != "" {
			f.keepChatKey(o.Patient.Address, k)
		}
		if o.State != booking.StateConfirmed {
			return
		}
		if _, err := f.desk.Arrive(f.sendCtx, o.ID); err != nil {
			f.log.Info("appointment not marked arrived", "order", o.ID, "err", err)
		}
	})
}

// callMoved moves the teleconsultation of transaction txn with its call:
// started when it connects, completed when it ends after connecting.
func (f *frontDesk) callMoved(txn string, started bool) {
	f.sends.Go(func() {
		o, ok := f.desk.Expected(f.sendCtx, txn)
		if !ok {
			return
		}
		var err error
		if started {
			o, err = f.desk.Start(f.sendCtx, o.ID)
		} else {
			o, err = f.desk.Complete(f.sendCtx, o.ID)
		}
		if err != nil {
			f.log.Info("appointment not moved with its call", "order", o.ID, "started", started, "err", err)
			return
		}
		f.tell(o)
	})
}

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
// or "day off".
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

// Undelivered says what the patient's app of order id could not be told,
// when the last callback failed; "" when it was told.
func (c *Console) Undelivered(id string) string {
	if c.front == nil {
		return ""
	}
	return c.front.undelivered(id)
}

// errNoBookings refuses a doctor's action on the day of a console that
// takes no bookings.
var errNoBookings = errors.New("this console takes no bookings: set the doctor's hours with teleconsole schedule --set FILE")

// doctorDid applies one of the doctor's changes to an appointment and
// tells the patient's app.
func (c *Console) doctorDid(change func(*booking.Desk) (booking.Order, error)) error {
	if c.front == nil {
		return errNoBookings
	}
	o, err := change(c.front.desk)
	if err != nil {
		return err
	}
	c.front.tell(o)
	return nil
}

// CheckIn checks an in-clinic patient in with their PIN.
func (c *Console) CheckIn(id, pin string) error {
	return c.doctorDid(func(d *booking.Desk) (booking.Order, error) { return d.CheckIn(c.sendCtx, id, pin) })
}

// OverridePIN checks an in-clinic patient in without their PIN, for one
// of booking.OverrideReasons.
func (c *Console) OverridePIN(id, code string) error {
	return c.doctorDid(func(d *booking.Desk) (booking.Order, error) { return d.Override(c.sendCtx, id, code) })
}

// StartVisit marks an appointment started.
func (c *Console) StartVisit(id string) error {
	return c.doctorDid(func(d *booking.Desk) (booking.Order, error) { return d.Start(c.sendCtx, id) })
}

// CompleteVisit marks an appointment completed.
func (c *Console) CompleteVisit(id string) error {
	return c.doctorDid(func(d *booking.Desk) (booking.Order, error) { return d.Complete(c.sendCtx, id) })
}

// NoShow marks a booked patient who never came.
func (c *Console) NoShow(id string) error {
	return c.doctorDid(func(d *booking.Desk) (booking.Order, error) { return d.NoShow(c.sendCtx, id) })
}

// CancelAppointment cancels an appointment for one of
// booking.DoctorCancelReasons and frees its slot.
func (c *Console) CancelAppointment(id, reason string) error {
	return c.doctorDid(func(d *booking.Desk) (booking.Order, error) {
		return d.Cancel(c.sendCtx, id, booking.Who{}, booking.CancelledByDoctor, reason)
	})
}

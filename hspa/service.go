package hspa

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

// Poster posts an encoded body to a peer's action path
// (uhiclient.Client.PostAction).
type Poster interface {
	PostAction(ctx context.Context, baseURI, action string, body []byte) error
}

// Config is what New needs.
type Config struct {
	// Desks are the doctors' desks, one a doctor, all on one store: an
	// order is found by its id whichever desk made it.
	Desks []*booking.Desk
	// ProviderID and ProviderURI are the HSPA's UHI identity.
	ProviderID, ProviderURI string
	// Out posts the callbacks, signed.
	Out Poster
	// Gateway is the UHI gateway's base URI ("https://gw.example/api/v1/uhi"):
	// the catalog answers a broadcast search there, and the audit copies
	// of callbacks go there. Empty: no gateway; a broadcast search is
	// answered at its consumer_uri.
	Gateway string
	// Helpline is the clinic's phone, sent in on_confirm.
	Helpline string
	// DoctorsKeys are the doctors' chat public keys by HPR address, sent
	// in on_confirm when the patient sent theirs; a doctor with none
	// sends none.
	DoctorsKeys map[string]string
	// Log receives the service's log; nil discards.
	Log *slog.Logger
}

// Service answers patients' booking requests for its doctors and tells
// the patients of the doctors' changes.
type Service struct {
	desks      map[string]*booking.Desk // by lower-case HPR address
	order      []*booking.Desk          // as given: the catalog's order
	build      *uhiclient.BookingBuilder
	out        Poster
	gateway    string
	helpline   string
	keys       map[string]string // by lower-case HPR address
	providerID string
	log        *slog.Logger
	sends      sync.WaitGroup

	mu       sync.Mutex
	sendCtx  context.Context              // cancelled by the owner's abort
	told     map[string]string            // order id: the last callback's outcome, for the doctor
	chatKeys map[string]uhiclient.ChatKey // patient address: chat key from confirm
}

// New makes a Service of cfg's desks. Two desks of one doctor are refused.
func New(cfg Config) (*Service, error) {
	if len(cfg.Desks) == 0 {
		return nil, errors.New("hspa: no doctor's desk")
	}
	if cfg.Out == nil {
		return nil, errors.New("hspa: no client to post callbacks with")
	}
	build, err := uhiclient.NewBookingBuilder(cfg.ProviderID, cfg.ProviderURI)
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	s := &Service{desks: map[string]*booking.Desk{}, build: build, out: cfg.Out, gateway: strings.TrimSpace(cfg.Gateway),
		helpline: cfg.Helpline, keys: map[string]string{}, providerID: cfg.ProviderID, log: cfg.Log,
		sendCtx: context.Background(), told: map[string]string{}, chatKeys: map[string]uhiclient.ChatKey{}}
	for _, d := range cfg.Desks {
		if d == nil {
			return nil, errors.New("hspa: a nil desk")
		}
		k := norm(d.Doctor())
		if _, dup := s.desks[k]; dup {
			return nil, fmt.Errorf("hspa: two schedules of %s", d.Doctor())
		}
		s.desks[k] = d
		s.order = append(s.order, d)
	}
	for doc, key := range cfg.DoctorsKeys {
		s.keys[norm(doc)] = key
	}
	return s, nil
}

func norm(hpr string) string { return strings.ToLower(strings.TrimSpace(hpr)) }

// SetContext sets the context the background callbacks (tell, Arrive,
// CallMoved) are posted within; its end abandons those in flight. Set it
// before serving.
func (s *Service) SetContext(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendCtx = ctx
}

func (s *Service) ctx() context.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendCtx
}

// Wait waits for the background callbacks in flight.
func (s *Service) Wait() { s.sends.Wait() }

// Desk returns the desk of the doctor at HPR address hpr.
func (s *Service) Desk(hpr string) (*booking.Desk, bool) {
	d, ok := s.desks[norm(hpr)]
	return d, ok
}

// Desks returns the doctors' desks, in the order given.
func (s *Service) Desks() []*booking.Desk { return append([]*booking.Desk(nil), s.order...) }

// Handle answers one accepted booking request (uhiclient.BookingHandler).
func (s *Service) Handle(ctx context.Context, req *uhiclient.BookingRequest) {
	env := req.Envelope
	log := s.log.With("action", req.Action, "transaction_id", env.Context.TransactionID, "message_id", env.Context.MessageID)
	switch req.Action {
	case uhiclient.ActionSearch:
		if req.ViaGateway {
			s.catalog(ctx, env, log)
		} else {
			s.slots(ctx, env, log)
		}
	case uhiclient.ActionInit:
		s.init(ctx, env, log)
	case uhiclient.ActionConfirm:
		s.confirm(ctx, req, log)
	case uhiclient.ActionStatus:
		s.status(ctx, req, log)
	case uhiclient.ActionCancel:
		s.cancel(ctx, req, log)
	case uhiclient.ActionOnUpdate:
		s.patientUpdate(env, log)
	}
}

// named is the doctor a request's fulfillment names (agent id, or cred),
// "" when it names none.
func named(ff *uhiclient.Fulfillment) string {
	if ff == nil || ff.Agent == nil {
		return ""
	}
	return strings.TrimSpace(firstOf(ff.Agent.ID, ff.Agent.Cred))
}

// deskFor is the desk of the doctor a request names; with no doctor
// named, the only desk, or none. why says why there is none.
func (s *Service) deskFor(id string) (d *booking.Desk, why string) {
	if id == "" {
		if len(s.order) == 1 {
			return s.order[0], ""
		}
		return nil, "name the doctor (fulfillment.agent.id): this provider has several"
	}
	if d, ok := s.desks[norm(id)]; ok {
		return d, ""
	}
	if len(s.order) == 1 {
		return nil, fmt.Sprintf("%s is not a doctor of this provider (%s is)", id, s.order[0].Doctor())
	}
	return nil, fmt.Sprintf("%s is not a doctor of this provider", id)
}

// orderDesk is the desk of the doctor of stored order id.
func (s *Service) orderDesk(ctx context.Context, id string) (*booking.Desk, error) {
	if len(s.order) == 1 {
		return s.order[0], nil
	}
	o, err := s.order[0].Order(ctx, id)
	if err != nil {
		return nil, err
	}
	d, ok := s.desks[norm(o.Doctor)]
	if !ok {
		// An order of a doctor whose schedule this service no longer
		// has: answered as unknown, as no desk here may change it.
		return nil, fmt.Errorf("%w: %s", booking.ErrNoOrder, id)
	}
	return d, nil
}

// doctor is the catalog's view of a desk's doctor.
func (s *Service) doctor(desk *booking.Desk) (uhiclient.Doctor, uhiclient.Facility) {
	p := desk.Plan().Doctor()
	d := uhiclient.Doctor{HPRAddress: p.HPR, Name: p.Name, Gender: p.Gender, Image: p.Image,
		Speciality: firstOf(p.SpecialityCode, p.Speciality), SpecialityName: p.Speciality, SystemOfMedicine: p.System,
		Languages: strings.Join(p.Languages, ","), Education: p.Education, HPRID: p.HPRID,
		HFRID: p.Facility.HFR, HIPID: p.Facility.HIP, UPIID: p.UPI}
	if p.ExperienceYears > 0 {
		d.Experience = fmt.Sprintf("%d.0", p.ExperienceYears)
	}
	fac := uhiclient.Facility{ID: s.providerID, Name: firstOf(p.Facility.Name, p.Name)}
	if p.Facility.City != "" || p.Facility.Pincode != "" || p.Facility.GPS != "" {
		fac.Location = &uhiclient.Location{GPS: p.Facility.GPS, Address: &uhiclient.Address{Name: p.Facility.Address,
			City: p.Facility.City, State: p.Facility.State, AreaCode: p.Facility.Pincode}}
	}
	return d, fac
}

func firstOf(v ...string) string {
	for _, x := range v {
		if strings.TrimSpace(x) != "" {
			return x
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

// catalog answers the gateway's broadcast search: every doctor whom the
// search's filters let in, in one on_search; when none, nothing, as an
// HSPA with no match says nothing (docs/booking.md §1). The catalog's
// provider is the first doctor's facility.
func (s *Service) catalog(ctx context.Context, env *uhiclient.BookingEnvelope, log *slog.Logger) {
	in := env.Message.Intent
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
	var docs []uhiclient.CatalogDoctor
	var first *uhiclient.Facility
	for _, desk := range s.order {
		doc, fac := s.doctor(desk)
		if why := mismatch(in, doc, fac); why != "" {
			log.Debug("search does not match the doctor", "doctor", doc.HPRAddress, "why", why)
			continue
		}
		plan := desk.Plan()
		n := len(docs)
		for _, k := range kinds {
			if !plan.Offers(k) {
				continue
			}
			fee, _ := booking.ParseRupees(plan.Fee(k))
			docs = append(docs, uhiclient.CatalogDoctor{Doctor: doc, FulfillmentID: doc.HPRAddress + "/" + k.String(),
				Type: wireType(k, sent), Fee: booking.Rupees(fee)})
		}
		if len(docs) > n && first == nil {
			first = &fac
		}
	}
	if len(docs) == 0 {
		log.Info("search for a service no doctor here offers")
		return
	}
	target := s.gateway
	if target == "" {
		target = env.Context.ConsumerURI
	}
	s.post(ctx, target, s.build.OnSearchDoctors(env.Context, first.Name, *first, docs), "", false, log)
}

// mismatch says why a search's filters leave a doctor out, or "".
func mismatch(in *uhiclient.SearchIntent, doc uhiclient.Doctor, fac uhiclient.Facility) string {
	if in == nil {
		return ""
	}
	has := func(field, want string) bool {
		return want == "" || strings.Contains(strings.ToLower(field), strings.ToLower(strings.TrimSpace(want)))
	}
	if ff := in.Fulfillment; ff != nil && ff.Agent != nil {
		if id := named(ff); id != "" && !strings.EqualFold(id, doc.HPRAddress) {
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

// slots answers a patient's app's own search: the free slots of the
// doctor it names (the only one when it names none), of the kind asked,
// in the window asked (the next seven days by default).
func (s *Service) slots(ctx context.Context, env *uhiclient.BookingEnvelope, log *slog.Logger) {
	in := env.Message.Intent
	kind, sent, id := booking.KindUnknown, "", ""
	var from, to time.Time
	if in != nil && in.Fulfillment != nil {
		ff := in.Fulfillment
		kind, sent, id = kindOf(ff.ServiceType()), ff.Type, named(ff)
		from, to = stopTime(ff.Start), stopTime(ff.End)
	}
	desk, why := s.deskFor(id)
	if desk == nil {
		s.refuse(ctx, env.Context, uhiclient.ActionOnSearch, uhiclient.CodeBadOrder, why, nil, log)
		return
	}
	doc, fac := s.doctor(desk)
	if from.IsZero() {
		from = time.Now()
	}
	if to.IsZero() || !to.After(from) {
		to = from.Add(7 * 24 * time.Hour)
	}
	free, err := desk.Free(ctx, kind, from, to)
	if err != nil {
		log.Error("free slots", "err", err)
		s.refuse(ctx, env.Context, uhiclient.ActionOnSearch, uhiclient.CodeUnavailable, "the schedule cannot be read now; retry", nil, log)
		return
	}
	var out []uhiclient.CatalogSlot
	for _, sl := range free[:min(len(free), maxSlots)] {
		out = append(out, uhiclient.CatalogSlot{ID: sl.ID, Type: wireType(sl.Kind, sent), Start: sl.Start, End: sl.End, Fee: feeText(sl.Fee)})
	}
	s.post(ctx, env.Context.ConsumerURI, s.build.OnSearchSlots(env.Context, fac.Name, fac, doc, out), "", false, log)
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
func stopTime(st *uhiclient.Stop) time.Time {
	if st == nil || strings.TrimSpace(st.Time.Timestamp) == "" {
		return time.Time{}
	}
	t, err := uhiclient.ParseLocalTime(st.Time.Timestamp)
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

// slotDesk is the desk of the doctor whose slot id is, when an init names
// no doctor: the one whose schedule has the slot in its booking window.
func (s *Service) slotDesk(id string) *booking.Desk {
	now := time.Now()
	for _, d := range s.order {
		p := d.Plan()
		if _, ok := p.Slot(id, now.Add(-24*time.Hour), now.Add(p.Window())); ok {
			return d
		}
	}
	return nil
}

func (s *Service) init(ctx context.Context, env *uhiclient.BookingEnvelope, log *slog.Logger) {
	o := env.Message.Order
	r := booking.InitRequest{SlotID: slotOf(o), TransactionID: env.Context.TransactionID,
		Patient: booking.Patient{ConsumerID: env.Context.ConsumerID, ConsumerURI: env.Context.ConsumerURI}}
	id := ""
	if o.Fulfillment != nil {
		r.Kind, r.FulfillmentType, r.Start = kindOf(o.Fulfillment.ServiceType()), o.Fulfillment.Type, stopTime(o.Fulfillment.Start)
		id = named(o.Fulfillment)
	}
	// The doctor named, else the only one, else the one whose schedule
	// has the slot.
	desk, ok := s.desks[norm(id)]
	switch {
	case ok:
	case len(s.order) == 1:
		desk = s.order[0]
	default:
		if desk = s.slotDesk(r.SlotID); desk == nil {
			s.refuse(ctx, env.Context, uhiclient.ActionOnInit, uhiclient.CodeSlotTaken,
				fmt.Sprintf("%v: %s", booking.ErrNoSlot, r.SlotID), nil, log)
			return
		}
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
	order, err := desk.Init(ctx, r)
	if err != nil {
		s.refuse(ctx, env.Context, uhiclient.ActionOnInit, codeOf(err), err.Error(), nil, log)
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
	log.Info("slot held", "doctor", order.Doctor, "order", order.ID, "kind", order.Kind.String(), "start", order.Start, "until", order.HeldUntil)
	s.post(ctx, env.Context.ConsumerURI, s.build.OnInit(env, order.ID, uhiclient.ConsultationQuote(booking.Rupees(order.Fee)), terms), order.ID, false, log)
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

func (s *Service) confirm(ctx context.Context, req *uhiclient.BookingRequest, log *slog.Logger) {
	env := req.Envelope
	o := env.Message.Order
	r := booking.ConfirmRequest{OrderID: strings.TrimSpace(o.ID), Who: who(req)}
	for _, t := range o.Terms {
		r.Terms = append(r.Terms, booking.Term{Name: t.Type, State: t.TermsState})
	}
	if k, ok := o.Tag(uhiclient.TagPatientKey); ok {
		r.ChatKey = strings.TrimSpace(k)
	}
	refuse := func(err error) {
		failed := *o
		failed.State = uhiclient.StateFailed
		s.refuse(ctx, env.Context, uhiclient.ActionOnConfirm, codeOf(err), err.Error(), &failed, log)
	}
	desk, err := s.orderDesk(ctx, r.OrderID)
	if err != nil {
		refuse(err)
		return
	}
	order, pin, err := desk.Confirm(ctx, r)
	if err != nil {
		refuse(err)
		return
	}
	c := uhiclient.Confirmation{State: uhiclient.StateConfirmed, MessagingSupport: true, HelplineNumber: s.helpline}
	if pin != "" {
		c.Authorization = uhiclient.PINAuthorization(pin, order.Changed, order.Start)
	}
	if order.Patient.ChatKey != "" {
		if k, err := uhiclient.ParseChatKey(order.Patient.ChatKey); err == nil {
			s.keepChatKey(order.Patient.Address, k)
			c.DoctorsKey = s.keys[norm(order.Doctor)]
		} else {
			log.Info("the patient's chat key is not usable", "err", err)
		}
	}
	log.Info("appointment booked", "doctor", order.Doctor, "order", order.ID, "kind", order.Kind.String(), "start", order.Start, "patient", order.Patient.Address)
	s.post(ctx, env.Context.ConsumerURI, s.build.OnConfirm(env, c), order.ID, true, log)
}

func (s *Service) status(ctx context.Context, req *uhiclient.BookingRequest, log *slog.Logger) {
	env := req.Envelope
	id := strings.TrimSpace(env.Message.Order.ID)
	desk, err := s.orderDesk(ctx, id)
	var order booking.Order
	if err == nil {
		order, err = desk.Status(ctx, id, who(req))
	}
	if err != nil {
		s.refuse(ctx, env.Context, uhiclient.ActionOnStatus, codeOf(err), err.Error(), env.Message.Order, log)
		return
	}
	s.post(ctx, env.Context.ConsumerURI, s.build.OnStatus(env.Context, s.wireOrder(desk, order)), order.ID, true, log)
}

func (s *Service) cancel(ctx context.Context, req *uhiclient.BookingRequest, log *slog.Logger) {
	env := req.Envelope
	o := env.Message.Order
	by, _ := o.Tag(uhiclient.TagCancelledBy)
	reason, _ := o.Tag(uhiclient.TagCancelReason)
	if !strings.EqualFold(strings.TrimSpace(by), booking.CancelledByPatient) {
		s.refuse(ctx, env.Context, uhiclient.ActionOnCancel, uhiclient.CodeNotYours,
			fmt.Sprintf("a patient's app cancels as the patient, not as %q", by), o, log)
		return
	}
	id := strings.TrimSpace(o.ID)
	desk, err := s.orderDesk(ctx, id)
	var order booking.Order
	if err == nil {
		order, err = desk.Cancel(ctx, id, who(req), booking.CancelledByPatient, reason)
	}
	if err != nil {
		s.refuse(ctx, env.Context, uhiclient.ActionOnCancel, codeOf(err), err.Error(), o, log)
		return
	}
	log.Info("appointment cancelled by the patient", "doctor", order.Doctor, "order", order.ID, "reason", reason)
	s.post(ctx, env.Context.ConsumerURI, s.build.OnCancel(env.Context, s.wireOrder(desk, order), booking.CancelledByPatient, reason), order.ID, true, log)
}

// patientUpdate takes the patient's app's on_update: the one it sends is
// DOCTOR_NO_SHOW, which the doctor is shown.
func (s *Service) patientUpdate(env *uhiclient.BookingEnvelope, log *slog.Logger) {
	o := env.Message.Order
	if o == nil {
		return
	}
	if strings.EqualFold(o.State, uhiclient.StateDoctorNoShow) {
		log.Warn("the patient reports the doctor did not show", "order", o.ID)
		s.note(o.ID, "the patient reports the doctor did not show")
		return
	}
	log.Info("on_update from the patient's app", "order", o.ID, "state", o.State)
}

// wireOrder is a stored order of desk's doctor as the patient's app is
// told it.
func (s *Service) wireOrder(desk *booking.Desk, o booking.Order) *uhiclient.Order {
	doc, _ := s.doctor(desk)
	fee := booking.Rupees(o.Fee)
	w := &uhiclient.Order{ID: o.ID, State: o.State.Wire(), Provider: &uhiclient.Provider{ID: s.providerID},
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
func (s *Service) refuse(ctx context.Context, req uhiclient.Context, action, code, msg string, o *uhiclient.Order, log *slog.Logger) {
	log.Info("booking refused", "code", code, "reason", msg)
	audit := action != uhiclient.ActionOnSearch && action != uhiclient.ActionOnInit
	s.post(ctx, req.ConsumerURI, s.build.ErrorCallback(req, action, code, msg, o), "", audit, log)
}

// post sends a callback, retried by the client, and, when audit is set
// and there is a gateway, the same bytes to the gateway's audit path
// (docs/booking.md §1). The outcome is logged, and kept for the order's
// line on the doctor's day.
func (s *Service) post(ctx context.Context, base string, env *uhiclient.BookingEnvelope, orderID string, audit bool, log *slog.Logger) {
	action := env.Context.Action
	body, err := uhiclient.MarshalBooking(env)
	if err == nil {
		err = s.out.PostAction(ctx, base, action, body)
	}
	if err != nil {
		log.Warn("callback not delivered", "callback", action, "to", base, "order", orderID, "err", err)
		if orderID != "" {
			s.note(orderID, "not told: "+action+" not delivered: "+err.Error())
		}
	} else {
		log.Debug("callback delivered", "callback", action, "to", base)
		if orderID != "" {
			s.note(orderID, "")
		}
	}
	if audit && s.gateway != "" && body != nil {
		if err := s.out.PostAction(ctx, s.gateway, uhiclient.AuditAction(action), body); err != nil {
			log.Warn("audit copy not delivered", "callback", action, "gateway", s.gateway, "err", err)
		}
	}
}

// note keeps what the patient's app was last told of an order, for the
// doctor: "" when it was told, the failure otherwise.
func (s *Service) note(orderID, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if msg == "" {
		delete(s.told, orderID)
		return
	}
	s.told[orderID] = msg
}

// Undelivered says what the doctor should know of order id's messages:
// "not told: ..." when the last callback failed, what the patient's app
// reported (a doctor who did not show), or "".
func (s *Service) Undelivered(orderID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.told[orderID]
}

func (s *Service) keepChatKey(addr string, k uhiclient.ChatKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chatKeys[strings.ToLower(addr)] = k
}

// ChatKey is the chat key a patient sent when they booked.
func (s *Service) ChatKey(addr string) (uhiclient.ChatKey, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.chatKeys[strings.ToLower(addr)]
	return k, ok
}

// Tell pushes a change a doctor made to the patient's app, in the
// background, to the consumer_uri the order stored (never one a request
// names): on_cancel for a cancel, on_update otherwise; with its audit
// copy.
func (s *Service) Tell(o booking.Order) {
	desk, ok := s.desks[norm(o.Doctor)]
	if !ok {
		s.log.Warn("a change of a doctor not served here is not told", "doctor", o.Doctor, "order", o.ID)
		return
	}
	req := uhiclient.Context{TransactionID: o.TransactionID, ConsumerID: o.Patient.ConsumerID, ConsumerURI: o.Patient.ConsumerURI}
	var env *uhiclient.BookingEnvelope
	if o.State == booking.StateCancelled {
		env = s.build.OnCancel(req, s.wireOrder(desk, o), booking.CancelledByDoctor, o.CancelReason)
	} else {
		env = s.build.OnUpdate(req, s.wireOrder(desk, o))
	}
	log := s.log.With("action", env.Context.Action, "transaction_id", o.TransactionID, "order", o.ID)
	ctx := s.ctx()
	s.sends.Go(func() { s.post(ctx, o.Patient.ConsumerURI, env, o.ID, true, log) })
}

// Arrive marks the teleconsultation of doctor that a READY on transaction
// txn belongs to as arrived, and takes its patient's chat key, in the
// background.
func (s *Service) Arrive(doctor, txn string) {
	desk, ok := s.desks[norm(doctor)]
	if !ok {
		return
	}
	ctx := s.ctx()
	s.sends.Go(func() {
		o, ok := desk.Expected(ctx, txn)
		if !ok {
			return
		}
		if k, err := uhiclient.ParseChatKey(o.Patient.ChatKey); err == nil && o.Patient.ChatKey != "" {
			s.keepChatKey(o.Patient.Address, k)
		}
		if o.State != booking.StateConfirmed {
			return
		}
		if _, err := desk.Arrive(ctx, o.ID); err != nil {
			s.log.Info("appointment not marked arrived", "order", o.ID, "err", err)
		}
	})
}

// CallMoved moves doctor's teleconsultation of transaction txn with its
// call: started when it connects, completed when it ends after connecting.
func (s *Service) CallMoved(doctor, txn string, started bool) {
	desk, ok := s.desks[norm(doctor)]
	if !ok {
		return
	}
	ctx := s.ctx()
	s.sends.Go(func() {
		o, ok := desk.Expected(ctx, txn)
		if !ok {
			return
		}
		var err error
		if started {
			o, err = desk.Start(ctx, o.ID)
		} else {
			o, err = desk.Complete(ctx, o.ID)
		}
		if err != nil {
			s.log.Info("appointment not moved with its call", "order", o.ID, "started", started, "err", err)
			return
		}
		s.Tell(o)
	})
}

// did applies one of a doctor's changes to order id, on the desk of the
// order's doctor, and tells the patient's app.
func (s *Service) did(ctx context.Context, id string, change func(*booking.Desk) (booking.Order, error)) (booking.Order, error) {
	desk, err := s.orderDesk(ctx, id)
	if err != nil {
		return booking.Order{}, err
	}
	o, err := change(desk)
	if err != nil {
		return booking.Order{}, err
	}
	s.Tell(o)
	return o, nil
}

// CheckIn checks an in-clinic patient in with their PIN.
func (s *Service) CheckIn(ctx context.Context, id, pin string) (booking.Order, error) {
	return s.did(ctx, id, func(d *booking.Desk) (booking.Order, error) { return d.CheckIn(ctx, id, pin) })
}

// Override checks an in-clinic patient in without their PIN, for one of
// booking.OverrideReasons.
func (s *Service) Override(ctx context.Context, id, code string) (booking.Order, error) {
	return s.did(ctx, id, func(d *booking.Desk) (booking.Order, error) { return d.Override(ctx, id, code) })
}

// Start marks an appointment started.
func (s *Service) Start(ctx context.Context, id string) (booking.Order, error) {
	return s.did(ctx, id, func(d *booking.Desk) (booking.Order, error) { return d.Start(ctx, id) })
}

// Complete marks an appointment completed.
func (s *Service) Complete(ctx context.Context, id string) (booking.Order, error) {
	return s.did(ctx, id, func(d *booking.Desk) (booking.Order, error) { return d.Complete(ctx, id) })
}

// NoShow marks a booked patient who never came.
func (s *Service) NoShow(ctx context.Context, id string) (booking.Order, error) {
	return s.did(ctx, id, func(d *booking.Desk) (booking.Order, error) { return d.NoShow(ctx, id) })
}

// Cancel cancels an appointment for one of booking.DoctorCancelReasons
// and frees its slot.
func (s *Service) Cancel(ctx context.Context, id, reason string) (booking.Order, error) {
	return s.did(ctx, id, func(d *booking.Desk) (booking.Order, error) {
		return d.Cancel(ctx, id, booking.Who{}, booking.CancelledByDoctor, reason)
	})
}

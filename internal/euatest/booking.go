package euatest

import (
	"errors"
	"strings"
	"time"
)

// Filters are the first search's optional filters
// (/work/shared/docs/uhi-booking.md §2). Zero fields are left out.
type Filters struct {
	// DoctorName goes to intent.fulfillment.agent.name.
	DoctorName string
	// HPRID (the doctor's HPR address) goes to intent.fulfillment.agent.id.
	HPRID string
	// Speciality goes to intent.category.descriptor.code (and name).
	Speciality string
	// Facility goes to intent.provider.descriptor.name.
	Facility string
	// State, District and City go to intent.location.
	State, District, City string
	// Pincode goes to intent.location.address.area_code.
	Pincode string
	// GPS ("12.97,77.59") and RadiusKM go to intent.location.gps and
	// intent.location.radius {type CONSTANT, value, unit km}.
	GPS, RadiusKM string
	// From and To are the window, intent.fulfillment.start/end.time.timestamp
	// (default: now to 7 days on, in IST local time).
	From, To time.Time
}

// Doctor is one doctor of a first on_search's catalog.
type Doctor struct {
	// ID is the agent's id (HPR address), or its cred when id is empty.
	ID string
	// Name and Gender are the agent's.
	Name, Gender string
	// Type is the fulfillment's type.
	Type string
	// ProviderID and ProviderURI are the HSPA's, from the callback's context.
	ProviderID, ProviderURI string
	// FacilityID is the catalog provider's id (order.provider.id in init).
	FacilityID string
	// Fulfillment is the catalog fulfillment as received.
	Fulfillment map[string]any
}

// Tag reads one of the doctor's agent tags, in either spelling.
func (d Doctor) Tag(name string) string { return Tag(d.Fulfillment, "agent.tags", name) }

// Slot is one free slot of a second on_search.
type Slot struct {
	// ID is the slot's UUID: the fulfillment's id (or its slot_id tag).
	ID string
	// Type is the fulfillment's type.
	Type string
	// Start and End are the slot's local times as sent.
	Start, End string
	// Agent is the doctor as the slot names them.
	Agent map[string]any
	// Item is the catalog item whose fulfillment_id is the slot (nil if none).
	Item map[string]any
	// FacilityID is the catalog provider's id.
	FacilityID string
	// ProviderID, ProviderURI and TransactionID are from the callback's
	// context; the booking continues the search's transaction.
	ProviderID, ProviderURI, TransactionID string
}

// Booking is one order in progress.
type Booking struct {
	// TransactionID is the booking's transaction, from search to confirm and
	// after (the on_message transaction of a teleconsultation).
	TransactionID string
	// ProviderID and ProviderURI are the HSPA's.
	ProviderID, ProviderURI string
	// Slot is the slot booked.
	Slot Slot
	// OrderID is the HSPA's order id, known from on_init (set by Confirm).
	OrderID string
}

// catalogProviders returns message.catalog.providers (as objects).
func catalogProviders(cb map[string]any) []map[string]any {
	var out []map[string]any
	ps, _ := Get(cb, "message.catalog.providers").([]any)
	for _, p := range ps {
		if m, ok := p.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// catalogFulfillments returns every fulfillment of a catalog with the id of
// the provider it came from: catalog.fulfillments and each
// catalog.providers[].fulfillments.
func catalogFulfillments(cb map[string]any) (fs []map[string]any, facility []string) {
	provs := catalogProviders(cb)
	first := ""
	if len(provs) > 0 {
		first = Str(provs[0], "id")
	}
	add := func(list any, fac string) {
		l, _ := list.([]any)
		for _, f := range l {
			if m, ok := f.(map[string]any); ok {
				fs = append(fs, m)
				facility = append(facility, fac)
			}
		}
	}
	add(Get(cb, "message.catalog.fulfillments"), first)
	for _, p := range provs {
		add(p["fulfillments"], Str(p, "id"))
	}
	return fs, facility
}

// catalogItems returns every item of a catalog, top-level and per provider.
func catalogItems(cb map[string]any) []map[string]any {
	var out []map[string]any
	add := func(list any) {
		l, _ := list.([]any)
		for _, it := range l {
			if m, ok := it.(map[string]any); ok {
				out = append(out, m)
			}
		}
	}
	add(Get(cb, "message.catalog.items"))
	for _, p := range catalogProviders(cb) {
		add(p["items"])
	}
	return out
}

// Doctors reads the doctors of a first on_search.
func Doctors(cb map[string]any) []Doctor {
	fs, fac := catalogFulfillments(cb)
	var out []Doctor
	for i, f := range fs {
		id := Str(f, "agent.id")
		if id == "" {
			id = Str(f, "agent.cred")
		}
		out = append(out, Doctor{ID: id, Name: Str(f, "agent.name"), Gender: Str(f, "agent.gender"),
			Type: Str(f, "type"), ProviderID: Str(cb, "context.provider_id"),
			ProviderURI: Str(cb, "context.provider_uri"), FacilityID: fac[i], Fulfillment: f})
	}
	return out
}

// Slots reads the free slots of a second on_search.
func Slots(cb map[string]any) []Slot {
	fs, fac := catalogFulfillments(cb)
	items := catalogItems(cb)
	var out []Slot
	for i, f := range fs {
		id := Str(f, "id")
		if id == "" {
			id = Tag(f, "tags", "slot_id")
		}
		if id == "" {
			id = Tag(f, "tags", "slot")
		}
		agent, _ := f["agent"].(map[string]any)
		s := Slot{ID: id, Type: Str(f, "type"), Start: Str(f, "start.time.timestamp"),
			End: Str(f, "end.time.timestamp"), Agent: agent, FacilityID: fac[i],
			ProviderID: Str(cb, "context.provider_id"), ProviderURI: Str(cb, "context.provider_uri"),
			TransactionID: Str(cb, "context.transaction_id")}
		for _, it := range items {
			if Str(it, "fulfillment_id") == id {
				s.Item = it
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// consultation is the consultation item descriptor.
func consultation() map[string]any {
	return map[string]any{"code": "Consultation", "name": "Consultation"}
}

func timeAt(ts string) map[string]any {
	return map[string]any{"time": map[string]any{"timestamp": ts}}
}

// SearchBody is the first search (to the gateway) for f, on a new transaction.
func (e *EUA) SearchBody(f Filters) map[string]any {
	from, to := f.From, f.To
	if from.IsZero() {
		from = e.now()
	}
	if to.IsZero() {
		to = from.Add(7 * 24 * time.Hour)
	}
	ful := map[string]any{"type": e.cfg.Flavour.Type(), "start": timeAt(Local(from)), "end": timeAt(Local(to))}
	agent := map[string]any{}
	if f.DoctorName != "" {
		agent["name"] = f.DoctorName
	}
	if f.HPRID != "" {
		agent["id"] = f.HPRID
	}
	if len(agent) > 0 {
		ful["agent"] = agent
	}
	intent := map[string]any{"fulfillment": ful, "item": map[string]any{"descriptor": consultation()}}
	if f.Speciality != "" {
		intent["category"] = map[string]any{"descriptor": map[string]any{"code": f.Speciality, "name": f.Speciality}}
	}
	if f.Facility != "" {
		intent["provider"] = map[string]any{"descriptor": map[string]any{"name": f.Facility}}
	}
	loc := map[string]any{}
	for k, v := range map[string]string{"state": f.State, "district": f.District, "city": f.City, "gps": f.GPS} {
		if v != "" {
			loc[k] = v
		}
	}
	if f.GPS != "" && f.RadiusKM != "" {
		loc["radius"] = map[string]any{"type": "CONSTANT", "value": f.RadiusKM, "unit": "km"}
	}
	if f.Pincode != "" {
		loc["address"] = map[string]any{"area_code": f.Pincode}
	}
	if len(loc) > 0 {
		intent["location"] = loc
	}
	return map[string]any{"context": e.context("search", newID(), "", ""), "message": map[string]any{"intent": intent}}
}

// SearchDoctors posts the first search through the gateway and returns its
// transaction id; the catalogs arrive as on_search callbacks on it.
func (e *EUA) SearchDoctors(f Filters) (string, error) {
	if e.cfg.Gateway == nil {
		return "", errors.New("euatest: SearchDoctors needs Config.Gateway")
	}
	body := e.SearchBody(f)
	return Str(body, "context.transaction_id"), e.send(e.cfg.Gateway.SearchURL(), body)
}

// SlotsBody is the second search, for one doctor's slots on day (local
// 00:00:00 to 23:59:59), on transaction txn (new when "").
func (e *EUA) SlotsBody(d Doctor, day time.Time, txn string) map[string]any {
	if txn == "" {
		txn = newID()
	}
	y, m, dd := day.In(IST()).Date()
	start := time.Date(y, m, dd, 0, 0, 0, 0, IST())
	agent := map[string]any{"id": d.ID}
	if d.Name != "" {
		agent["name"] = d.Name
	}
	if e.cfg.Flavour == Teleconsultation {
		agent["cred"] = d.ID // the 2022 app names the doctor in cred
	}
	ful := map[string]any{"type": e.cfg.Flavour.Type(), "agent": agent,
		"start": timeAt(Local(start)), "end": timeAt(Local(start.Add(24*time.Hour - time.Second)))}
	return map[string]any{
		"context": e.context("search", txn, d.ProviderID, d.ProviderURI),
		"message": map[string]any{"intent": map[string]any{"fulfillment": ful,
			"item": map[string]any{"descriptor": consultation()}}},
	}
}

// SearchSlots posts the second search straight to the doctor's provider_uri
// (no gateway header) and returns its transaction id, which the booking
// keeps.
func (e *EUA) SearchSlots(d Doctor, day time.Time) (string, error) {
	if d.ProviderURI == "" {
		return "", errors.New("euatest: doctor has no provider_uri")
	}
	body := e.SlotsBody(d, day, "")
	return Str(body, "context.transaction_id"), e.send(strings.TrimRight(d.ProviderURI, "/")+"/search", body)
}

// NewBooking starts a booking of slot on the slot search's transaction.
func (e *EUA) NewBooking(s Slot) *Booking {
	txn := s.TransactionID
	if txn == "" {
		txn = newID()
	}
	return &Booking{TransactionID: txn, ProviderID: s.ProviderID, ProviderURI: strings.TrimRight(s.ProviderURI, "/"), Slot: s}
}

// agentTags copies the slot's agent tags; the Teleconsultation flavour
// rewrites them in the 2022 app's slash spelling.
func (e *EUA) agentTags(s Slot) map[string]any {
	src, _ := Get(s.Agent, "tags").(map[string]any)
	out := map[string]any{}
	for k, v := range src {
		if e.cfg.Flavour == Teleconsultation {
			k = strings.Replace(k, "@abdm/gov.in/", "@abdm/gov/in/", 1)
		}
		out[k] = v
	}
	return out
}

// customer is order.customer in the flavour's shape.
func (e *EUA) customer() map[string]any {
	p := e.cfg.Patient
	person := map[string]any{"gender": p.Gender, "dob": p.DOB}
	if e.cfg.Flavour == Teleconsultation {
		return map[string]any{"id": "", "cred": p.ABHAAddress, "person": person}
	}
	if p.ABHANumber != "" {
		person["tags"] = map[string]any{"@abdm/gov.in/abha_number": p.ABHANumber}
	}
	return map[string]any{"id": p.ABHAAddress, "person": person}
}

func (e *EUA) billing() map[string]any {
	p := e.cfg.Patient
	return map[string]any{"name": p.Name, "phone": p.Phone, "email": p.Email,
		"address": map[string]any{"door": "", "name": p.Name, "locality": "MG Road", "city": "Bengaluru",
			"state": "Karnataka", "country": "IND", "area_code": "560001"}}
}

// InitBody is the init of booking b.
func (e *EUA) InitBody(b *Booking) map[string]any {
	s := b.Slot
	item := map[string]any{"id": "0", "descriptor": consultation(), "fulfillment_id": s.ID}
	if s.Item != nil {
		if id := Str(s.Item, "id"); id != "" {
			item["id"] = id
		}
		if p, ok := s.Item["price"]; ok {
			item["price"] = clone(p)
		}
	}
	agent := map[string]any{"id": Str(s.Agent, "id"), "name": Str(s.Agent, "name")}
	if g := Str(s.Agent, "gender"); g != "" {
		agent["gender"] = g
	}
	if t := e.agentTags(s); len(t) > 0 {
		agent["tags"] = t
	}
	order := map[string]any{
		"provider": map[string]any{"id": s.FacilityID},
		"item":     item,
		"fulfillment": map[string]any{"id": s.ID, "type": e.cfg.Flavour.Type(), "agent": agent,
			"start": timeAt(s.Start), "end": timeAt(s.End),
			"tags": map[string]any{"@abdm/gov.in/slot_id": s.ID}},
		"billing":  e.billing(),
		"customer": e.customer(),
		"payment":  map[string]any{"type": "ON-ORDER"},
	}
	return map[string]any{"context": e.context("init", b.TransactionID, b.ProviderID, b.ProviderURI),
		"message": map[string]any{"order": order}}
}

// Init starts booking slot s: it posts init to the slot's provider_uri and
// returns the booking; on_init arrives on b.TransactionID.
func (e *EUA) Init(s Slot) (*Booking, error) {
	b := e.NewBooking(s)
	if b.ProviderURI == "" {
		return b, errors.New("euatest: slot has no provider_uri")
	}
	return b, e.send(b.ProviderURI+"/init", e.InitBody(b))
}

// ConfirmBody is the confirm of booking b from its on_init: the order as
// on_init sent it, every term's termsState set to AGREED, the customer and
// billing, and, when patientKey is not empty, the patient's chat key in
// fulfillment.tags["@abdm/gov.in/patient_key"]. It sets b.OrderID.
func (e *EUA) ConfirmBody(b *Booking, onInit map[string]any, patientKey string) map[string]any {
	order, _ := clone(Get(onInit, "message.order")).(map[string]any)
	if order == nil {
		order = map[string]any{}
	}
	if terms, ok := order["terms"].([]any); ok {
		for _, t := range terms {
			if m, ok := t.(map[string]any); ok {
				m["termsState"] = "AGREED"
			}
		}
	}
	order["customer"] = e.customer()
	order["billing"] = e.billing()
	if patientKey != "" {
		ful, _ := order["fulfillment"].(map[string]any)
		if ful == nil {
			ful = map[string]any{}
			order["fulfillment"] = ful
		}
		tags, _ := ful["tags"].(map[string]any)
		if tags == nil {
			tags = map[string]any{}
			ful["tags"] = tags
		}
		tags["@abdm/gov.in/patient_key"] = patientKey
	}
	b.OrderID = Str(order, "id")
	return map[string]any{"context": e.context("confirm", b.TransactionID, b.ProviderID, b.ProviderURI),
		"message": map[string]any{"order": order}}
}

// Confirm agrees to every term of onInit and confirms booking b (patientKey
// as in ConfirmBody); on_confirm arrives on b.TransactionID.
func (e *EUA) Confirm(b *Booking, onInit map[string]any, patientKey string) error {
	return e.send(b.ProviderURI+"/confirm", e.ConfirmBody(b, onInit, patientKey))
}

// StatusBody asks for the state of order b.OrderID.
func (e *EUA) StatusBody(b *Booking) map[string]any {
	return map[string]any{"context": e.context("status", b.TransactionID, b.ProviderID, b.ProviderURI),
		"message": map[string]any{"order": map[string]any{"id": b.OrderID}}}
}

// Status posts status for booking b; on_status arrives on b.TransactionID.
func (e *EUA) Status(b *Booking) error {
	return e.send(b.ProviderURI+"/status", e.StatusBody(b))
}

// CancelBody is the patient's cancel of b with a patient reason code
// ("PATIENT_HEALTH_IMPROVED"...).
func (e *EUA) CancelBody(b *Booking, reason string) map[string]any {
	tags := map[string]any{"@abdm/gov.in/cancelledby": "patient"}
	if reason != "" {
		tags["@abdm/gov.in/cancel_reason"] = reason
	}
	order := map[string]any{"id": b.OrderID, "state": "CANCELLED",
		"fulfillment": map[string]any{"id": b.Slot.ID, "type": e.cfg.Flavour.Type(), "tags": tags}}
	return map[string]any{"context": e.context("cancel", b.TransactionID, b.ProviderID, b.ProviderURI),
		"message": map[string]any{"order": order}}
}

// Cancel posts the patient's cancel of b; on_cancel arrives on
// b.TransactionID.
func (e *EUA) Cancel(b *Booking, reason string) error {
	return e.send(b.ProviderURI+"/cancel", e.CancelBody(b, reason))
}

// DoctorNoShowBody is the EUA's on_update telling the HSPA that the doctor did
// not come: order.state DOCTOR_NO_SHOW.
func (e *EUA) DoctorNoShowBody(b *Booking) map[string]any {
	order := map[string]any{"id": b.OrderID, "state": "DOCTOR_NO_SHOW",
		"fulfillment": map[string]any{"id": b.Slot.ID, "type": e.cfg.Flavour.Type(),
			"start": timeAt(b.Slot.Start), "end": timeAt(b.Slot.End)}}
	return map[string]any{"context": e.context("on_update", b.TransactionID, b.ProviderID, b.ProviderURI),
		"message": map[string]any{"order": order}}
}

// DoctorNoShow posts DoctorNoShowBody to the HSPA's /on_update.
func (e *EUA) DoctorNoShow(b *Booking) error {
	return e.send(b.ProviderURI+"/on_update", e.DoctorNoShowBody(b))
}

// MalformedTime is a slot time no parser should accept.
const MalformedTime = "07/12/2026 half past ten"

// Zulu returns a local time with a "Z" appended ("2026-12-07T10:30:00Z"), the
// form the reference backend breaks on and the console normalises.
func Zulu(local string) string { return local + "Z" }

// SetSlotTimes sets a body's order.fulfillment start and end timestamps, to
// send a malformed or zoned time.
func SetSlotTimes(body map[string]any, start, end string) {
	Set(body, "message.order.fulfillment.start.time.timestamp", start)
	Set(body, "message.order.fulfillment.end.time.timestamp", end)
}

// DisagreeTerm sets term i of a confirm body back to state (e.g.
// "INITIATED", "REJECTED"); it returns false when there is no term i.
func DisagreeTerm(body map[string]any, i int, state string) bool {
	terms, _ := Get(body, "message.order.terms").([]any)
	if i < 0 || i >= len(terms) {
		return false
	}
	m, ok := terms[i].(map[string]any)
	if !ok {
		return false
	}
	m["termsState"] = state
	return true
}

// PIN returns on_confirm's authorization token and status.
func PIN(onConfirm map[string]any) (token, status string) {
	return Str(onConfirm, "message.order.authorization.token"), Str(onConfirm, "message.order.authorization.status")
}

// OrderState is message.order.state of a callback.
func OrderState(cb map[string]any) string { return Str(cb, "message.order.state") }

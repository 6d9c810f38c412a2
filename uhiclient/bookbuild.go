package uhiclient

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Business error codes of error callbacks (docs/protocol.md §8), numbered
// after the HTTP status they would go with, as this package's NACK codes are.
const (
	// CodeUnknownOrder: status, cancel or update of an order id not known here.
	CodeUnknownOrder = "UHI-1404"
	// CodeSlotTaken: the slot does not exist, is taken, or its hold has lapsed.
	CodeSlotTaken = "UHI-1409"
	// CodeNotYours: a cancel or update of another patient's order.
	CodeNotYours = "UHI-1403"
	// CodeTermsNotAgreed: a confirm with a term not AGREED, or terms changed.
	CodeTermsNotAgreed = "UHI-1422"
	// CodeBadOrder: an order this HSPA cannot take (unknown doctor, type...).
	CodeBadOrder = "UHI-1400"
)

// TypeDomain is the error.type of an error callback: the request was
// well formed, and the answer is no.
const TypeDomain = "DOMAIN-ERROR"

// BookingBuilder makes the HSPA's booking callbacks (docs/protocol.md §8).
// Each callback echoes the request's context (domain, city, consumer,
// transaction_id), sets action, this HSPA's provider_id and provider_uri,
// and a new message_id and timestamp. It is safe for concurrent use.
type BookingBuilder struct {
	providerID, providerURI string
	now                     func() time.Time
	newID                   func() string
}

// NewBookingBuilder returns a builder for the HSPA providerID at
// providerURI (an absolute http(s) URI). WithBuilderClock and
// WithIDGenerator apply; WithLocation does not (slot times are always
// India's).
func NewBookingBuilder(providerID, providerURI string, opts ...BuilderOption) (*BookingBuilder, error) {
	if trim(providerID) == "" {
		return nil, fmt.Errorf("%w: empty provider id", ErrBadOption)
	}
	if _, err := parsePeerURI(providerURI); err != nil {
		return nil, fmt.Errorf("%w: provider uri: %v", ErrBadOption, err)
	}
	b := &Builder{now: time.Now, newID: func() string { return uuid.NewString() }, loc: time.Local}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	return &BookingBuilder{providerID: trim(providerID), providerURI: trim(providerURI), now: b.now, newID: b.newID}, nil
}

// Context makes the context of a callback action answering (or, for an
// unsolicited on_update, on_status or on_cancel, following) a request
// whose context was req: transaction_id and the consumer echoed, action
// set, provider_id and provider_uri this HSPA's, a new message_id and
// the time now.
func (b *BookingBuilder) Context(req Context, action string) Context {
	c := req
	def := func(s *string, v string) {
		if trim(*s) == "" {
			*s = v
		}
	}
	def(&c.Domain, DefaultDomain)
	def(&c.Country, DefaultCountry)
	def(&c.City, DefaultCity)
	def(&c.CoreVersion, DefaultCoreVersion)
	c.Action = action
	c.ProviderID, c.ProviderURI = b.providerID, b.providerURI
	c.MessageID = b.newID()
	c.Timestamp = b.now().UTC().Format("2006-01-02T15:04:05.000000Z")
	return c
}

// Callback wraps msg in a callback envelope of action (see Context).
func (b *BookingBuilder) Callback(req Context, action string, msg BookingMessage) *BookingEnvelope {
	return &BookingEnvelope{Context: b.Context(req, action), Message: msg}
}

// ErrorCallback is the business refusal of a request, sent to the same
// callback path as the answer would be (action, e.g. on_confirm): error
// carries TypeDomain, code (one of the Code* constants) and message, and
// message carries order when given (the order as the patient sent it,
// state FAILED for a confirm).
func (b *BookingBuilder) ErrorCallback(req Context, action, code, message string, order *Order) *BookingEnvelope {
	env := b.Callback(req, action, BookingMessage{Order: order})
	env.Error = &ErrorBody{Type: TypeDomain, Code: code, Message: message}
	return env
}

// Doctor is what a catalog says of a doctor (docs/protocol.md §8).
type Doctor struct {
	// HPRAddress is the agent id ("rao@hpr.ndhm").
	HPRAddress string
	Name       string
	Gender     string
	// Image is a photo URL or base64.
	Image string
	// Speciality is the category code ("Cardiology"), SpecialityName its
	// display name (default: the code), SystemOfMedicine its parent
	// ("ALLOPATHY").
	Speciality, SpecialityName, SystemOfMedicine string
	// Languages, Education, Experience (years, "15.0") as the tags carry them.
	Languages, Education, Experience string
	// HPRID, HFRID, HIPID are the registry ids.
	HPRID, HFRID, HIPID string
	// UPIID is where the 2022 patient app pays.
	UPIID string
}

// Agent is d as a fulfillment's agent, with the tags in both spellings
// (docs/protocol.md §8): empty values are left out.
func (d Doctor) Agent() *Agent {
	var t Tags
	for _, kv := range [][2]string{
		{TagEducation, d.Education}, {TagExperience, d.Experience}, {TagLanguages, d.Languages},
		{TagSpeciality, d.SpecialityName}, {TagHPRID, d.HPRID}, {TagHFRID, d.HFRID}, {TagHIPID, d.HIPID},
		{TagUPIID, d.UPIID},
	} {
		if kv[1] != "" {
			t = t.SetBoth(kv[0], kv[1])
		}
	}
	if d.SpecialityName == "" && d.Speciality != "" {
		t = t.SetBoth(TagSpeciality, d.Speciality)
	}
	return &Agent{ID: d.HPRAddress, Name: d.Name, Gender: d.Gender, Image: d.Image, Tags: t}
}

// Facility is the provider of a catalog: the clinic or hospital.
type Facility struct {
	ID       string
	Name     string
	Location *Location
}

// CatalogDoctor is one doctor's entry in the first catalog: one
// fulfillment (id FulfillmentID, type Type as the search asked) and one
// item with the fee.
type CatalogDoctor struct {
	Doctor        Doctor
	FulfillmentID string
	// Type is the fulfillment.type to write (ServiceType.Wire).
	Type string
	// Fee is the consultation fee ("500.0"); FollowUpFee, when set, goes
	// with it in the agent's tags, both spellings.
	Fee, FollowUpFee string
	// Start and End, when not zero, bound the doctor's offered window.
	Start, End time.Time
}

// CatalogSlot is one free slot in the second catalog.
type CatalogSlot struct {
	// ID is the slot's UUID: fulfillment id and item fulfillment_id.
	ID         string
	Type       string
	Start, End time.Time
	Fee        string
}

// consultation is the item descriptor of every consultation.
func consultation() *Descriptor { return &Descriptor{Code: "Consultation", Name: "Consultation"} }

// OnSearchDoctors is the first on_search, to the gateway: the facility's
// doctors that match, one fulfillment and one item each.
func (b *BookingBuilder) OnSearchDoctors(req Context, catalogName string, fac Facility, docs []CatalogDoctor) *BookingEnvelope {
	p := b.provider(fac)
	for _, d := range docs {
		a := d.Doctor.Agent()
		if d.Fee != "" {
			a.Tags = a.Tags.SetBoth(TagFirstConsultation, d.Fee)
		}
		if d.FollowUpFee != "" {
			a.Tags = a.Tags.SetBoth(TagFollowUp, d.FollowUpFee)
		}
		f := Fulfillment{ID: d.FulfillmentID, Type: d.Type, Agent: a}
		if !d.Start.IsZero() {
			f.Start = At(d.Start)
		}
		if !d.End.IsZero() {
			f.End = At(d.End)
		}
		p.Fulfillments = append(p.Fulfillments, f)
		p.Items = append(p.Items, Item{ID: d.Doctor.HPRAddress, Descriptor: consultation(),
			Price: &Price{Currency: CurrencyINR, Value: d.Fee}, FulfillmentID: d.FulfillmentID,
			CategoryID: d.Doctor.Speciality})
		p.Categories = addCategory(p.Categories, d.Doctor)
	}
	return b.Callback(req, ActionOnSearch, BookingMessage{Catalog: &Catalog{
		Descriptor: &Descriptor{Name: catalogName}, Providers: []Provider{p}}})
}

// OnSearchSlots is the second on_search, to the patient's app: one
// doctor's free slots, one fulfillment and one item each.
func (b *BookingBuilder) OnSearchSlots(req Context, catalogName string, fac Facility, doc Doctor, slots []CatalogSlot) *BookingEnvelope {
	p := b.provider(fac)
	p.Categories = addCategory(p.Categories, doc)
	for _, s := range slots {
		p.Fulfillments = append(p.Fulfillments, Fulfillment{ID: s.ID, Type: s.Type, Agent: doc.Agent(),
			Start: At(s.Start), End: At(s.End), Tags: Tags{}.Set(TagSlotID, s.ID)})
		p.Items = append(p.Items, Item{ID: doc.HPRAddress, Descriptor: consultation(),
			Price: &Price{Currency: CurrencyINR, Value: s.Fee}, FulfillmentID: s.ID, CategoryID: doc.Speciality})
	}
	return b.Callback(req, ActionOnSearch, BookingMessage{Catalog: &Catalog{
		Descriptor: &Descriptor{Name: catalogName}, Providers: []Provider{p}}})
}

func (b *BookingBuilder) provider(fac Facility) Provider {
	p := Provider{ID: fac.ID, Descriptor: &Descriptor{Name: fac.Name}}
	if fac.Location != nil {
		p.Locations = []Location{*fac.Location}
	}
	return p
}

func addCategory(cs []Category, d Doctor) []Category {
	if d.Speciality == "" {
		return cs
	}
	for _, c := range cs {
		if c.ID == d.Speciality {
			return cs
		}
	}
	name := d.SpecialityName
	if name == "" {
		name = d.Speciality
	}
	return append(cs, Category{ID: d.Speciality, ParentCategoryID: d.SystemOfMedicine,
		Descriptor: &Descriptor{Code: d.Speciality, Name: name}})
}

// ConsultationQuote is a quote for a fee ("500.0") with the reference's
// breakup: Consultation (the fee), CGST @ 5%, SGST @ 5% and Registration
// (each "0": a consultation is exempt).
func ConsultationQuote(fee string) *Quote {
	zero := Price{Currency: CurrencyINR, Value: "0"}
	return &Quote{Price: Price{Currency: CurrencyINR, Value: fee}, Breakup: []QuoteBreakup{
		{Title: "Consultation", Price: Price{Currency: CurrencyINR, Value: fee}},
		{Title: "CGST @ 5%", Price: zero}, {Title: "SGST @ 5%", Price: zero}, {Title: "Registration", Price: zero},
	}}
}

// TermText is the text of one term: its descriptor's name, short and long
// description.
type TermText struct {
	Name, Short, Long string
}

// TermTypes are the five term types of today's network, in order.
var termTypes = [...]string{"Commercial", "Settlement", "Cancellation", "Refund", "Payment"}

// TermTypes returns the five term types of today's network, in order:
// Commercial, Settlement, Cancellation, Refund, Payment.
func TermTypes() []string { return slices.Clone(termTypes[:]) }

// InitiatedTerms makes the five terms of on_init, each INITIATED, with
// timePeriod the slot's start; texts gives each type's text (a type
// without one is named "<Type> terms").
func InitiatedTerms(slotStart time.Time, texts map[string]TermText) []Term {
	out := make([]Term, 0, len(termTypes))
	for _, typ := range termTypes {
		tx, ok := texts[typ]
		if !ok || tx.Name == "" {
			tx.Name = typ + " terms"
		}
		out = append(out, Term{Type: typ, Descriptor: &Descriptor{Name: tx.Name, ShortDesc: tx.Short, LongDesc: tx.Long},
			TimePeriod: FormatLocalTime(slotStart), TermsState: TermsInitiated})
	}
	return out
}

// OnInit answers an init: the order as the patient sent it, with the
// order id, the quote, the payment (ON-ORDER, NOT_PAID) and, for a
// Physical order, terms (nil leaves them out, as the teleconsultation
// shape has none).
func (b *BookingBuilder) OnInit(req *BookingEnvelope, orderID string, quote *Quote, terms []Term) *BookingEnvelope {
	o := cloneOrder(req.Message.Order)
	o.ID, o.Quote, o.Terms = orderID, quote, terms
	if o.Payment == nil {
		o.Payment = &Payment{}
	}
	if o.Payment.Type == "" {
		o.Payment.Type = PaymentOnOrder
	}
	o.Payment.Status = PaymentNotPaid
	return b.Callback(req.Context, ActionOnInit, BookingMessage{Order: o})
}

// PINAuthorization is the authorization of a confirmed Physical order:
// type PIN, token pin (4 digits), valid from issued to the end of the
// appointment's day in India, status GENERATED.
func PINAuthorization(pin string, issued, appointment time.Time) *OrderAuthorization {
	a := appointment.In(indiaZone)
	end := time.Date(a.Year(), a.Month(), a.Day(), 23, 59, 0, 0, indiaZone)
	return &OrderAuthorization{Type: AuthorizationPIN, Token: PINToken(pin), ValidFrom: FormatLocalTime(issued),
		ValidTo: FormatLocalTime(end), Status: PINGenerated}
}

// Confirmation is what an HSPA adds to the order in on_confirm.
type Confirmation struct {
	// State is StateConfirmed or StateFailed.
	State string
	// Authorization is the PIN (Physical), nil for a teleconsultation.
	Authorization *OrderAuthorization
	// DoctorsKey is the doctor's chat public key, sent when the patient
	// sent theirs (@abdm/gov.in/doctors_key).
	DoctorsKey string
	// MessagingSupport and HelplineNumber are today's network's tags;
	// HelplineNumber is left out when empty.
	MessagingSupport bool
	HelplineNumber   string
	// Tags are more fulfillment tags, e.g. care_context_id.
	Tags Tags
}

// OnConfirm answers a confirm: the order as the patient sent it, with
// state, authorization and the fulfillment's tags of c (in today's
// spelling; the patient's own tags, patient_key among them, are echoed).
func (b *BookingBuilder) OnConfirm(req *BookingEnvelope, c Confirmation) *BookingEnvelope {
	o := cloneOrder(req.Message.Order)
	o.State, o.Authorization = c.State, c.Authorization
	if o.Fulfillment == nil {
		o.Fulfillment = &Fulfillment{}
	}
	t := o.Fulfillment.Tags
	if c.DoctorsKey != "" {
		t = t.Set(TagDoctorsKey, c.DoctorsKey)
	}
	t = t.Set(TagMessagingSupport, fmt.Sprint(c.MessagingSupport))
	if c.HelplineNumber != "" {
		t = t.Set(TagHelplineNumber, c.HelplineNumber)
	}
	for k, v := range c.Tags {
		t = t.Set(k, v)
	}
	o.Fulfillment.Tags = t
	return b.Callback(req.Context, ActionOnConfirm, BookingMessage{Order: o})
}

// OnStatus is the order's state, to a status request (req its context) or
// unsolicited (req the stored order's transaction and consumer).
func (b *BookingBuilder) OnStatus(req Context, o *Order) *BookingEnvelope {
	return b.Callback(req, ActionOnStatus, BookingMessage{Order: cloneOrder(o)})
}

// OnUpdate pushes a lifecycle change (o.State: APPOINTMENT_STARTED,
// COMPLETED, NO_SHOW; the PIN's status in o.Authorization) to the patient's app.
func (b *BookingBuilder) OnUpdate(req Context, o *Order) *BookingEnvelope {
	return b.Callback(req, ActionOnUpdate, BookingMessage{Order: cloneOrder(o)})
}

// OnCancel answers a cancel, or tells the patient the doctor cancelled:
// o with state CANCELLED and the fulfillment's tags cancelledby (by:
// CancelledByPatient or CancelledByDoctor) and, when given, cancel_reason.
func (b *BookingBuilder) OnCancel(req Context, o *Order, by, reason string) *BookingEnvelope {
	c := cloneOrder(o)
	c.State = StateCancelled
	if c.Fulfillment == nil {
		c.Fulfillment = &Fulfillment{}
	}
	t := Tags{}
	for k, v := range c.Fulfillment.Tags { // one spelling of each in the answer
		if n := tagName(k); n != TagCancelledBy && n != TagCancelReason && n != "cancelReason" {
			t[k] = v
		}
	}
	t = t.Set(TagCancelledBy, strings.ToLower(by))
	if reason != "" {
		t = t.Set(TagCancelReason, reason)
	}
	c.Fulfillment.Tags = t
	return b.Callback(req, ActionOnCancel, BookingMessage{Order: c})
}

// cloneOrder deep-copies o through JSON (nil gives an empty order), so a
// callback never shares maps or slices with the request it answers.
func cloneOrder(o *Order) *Order {
	out := &Order{}
	if o == nil {
		return out
	}
	raw, err := json.Marshal(o)
	if err == nil {
		err = json.Unmarshal(raw, out)
	}
	if err != nil { // every field of an Order marshals; keep a shallow copy if not
		c := *o
		return &c
	}
	return out
}

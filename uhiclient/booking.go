package uhiclient

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"time"
)

// Booking actions: context.action of each booking message (docs/protocol.md §8).
const (
	ActionSearch    = "search"
	ActionOnSearch  = "on_search"
	ActionInit      = "init"
	ActionOnInit    = "on_init"
	ActionConfirm   = "confirm"
	ActionOnConfirm = "on_confirm"
	ActionStatus    = "status"
	ActionOnStatus  = "on_status"
	ActionCancel    = "cancel"
	ActionOnCancel  = "on_cancel"
	ActionUpdate    = "update"
	ActionOnUpdate  = "on_update"
)

// AuditAction is the gateway path of the audit copy of a callback:
// "on_confirm" gives "on_confirm_audit" (docs/protocol.md §8). The copy's
// body is the callback's, byte for byte.
func AuditAction(action string) string { return action + "_audit" }

// Order states (docs/protocol.md §8).
const (
	StateConfirmed          = "CONFIRMED"
	StateFailed             = "FAILED"
	StateAppointmentStarted = "APPOINTMENT_STARTED"
	StateCompleted          = "COMPLETED"
	StateNoShow             = "NO_SHOW"
	StateDoctorNoShow       = "DOCTOR_NO_SHOW"
	StateCancelled          = "CANCELLED"
)

// Terms states, PIN states and other fixed values (docs/protocol.md §8).
const (
	TermsInitiated = "INITIATED"
	TermsAgreed    = "AGREED"

	AuthorizationPIN = "PIN"
	PINGenerated     = "GENERATED"
	PINVerified      = "VERIFIED"
	PINOverride      = "HSPAOVERRIDE"

	PaymentOnOrder = "ON-ORDER"
	PaymentNotPaid = "NOT_PAID"
	PaymentPaid    = "PAID"
	PaymentFree    = "FREE"

	CancelledByPatient = "patient"
	CancelledByDoctor  = "doctor"

	CurrencyINR = "INR"
)

// BookingEnvelope is one booking request or callback (docs/protocol.md §8):
// the on_message envelope's context, a message holding one of intent
// (search), catalog (on_search) or order (everything else), and, in an
// error callback, error. Unknown fields are ignored on decode.
type BookingEnvelope struct {
	// Context routes the message; Action is one of the Action* constants.
	Context Context `json:"context"`
	// Message is the business content.
	Message BookingMessage `json:"message"`
	// Error is set in an error callback: the business answer is a refusal.
	Error *ErrorBody `json:"error,omitempty"`
}

// BookingMessage is message of a booking envelope.
type BookingMessage struct {
	// Intent is a search's filters.
	Intent *SearchIntent `json:"intent,omitempty"`
	// Catalog is on_search's answer.
	Catalog *Catalog `json:"catalog,omitempty"`
	// Order is the order of init, confirm, status, cancel, update and their callbacks.
	Order *Order `json:"order,omitempty"`
}

// SearchIntent is message.intent of a search. Every field is an optional filter.
type SearchIntent struct {
	// Fulfillment: type, doctor (agent id = HPR address, name), window (start, end).
	Fulfillment *Fulfillment `json:"fulfillment,omitempty"`
	// Category: speciality, in descriptor.code.
	Category *Category `json:"category,omitempty"`
	// Provider: the facility, by descriptor.name or id.
	Provider *Provider `json:"provider,omitempty"`
	// Location: state, district, city, GPS and radius, pincode.
	Location *Location `json:"location,omitempty"`
	// Item: the service, descriptor {code: "Consultation", name: "Consultation"}.
	Item *Item `json:"item,omitempty"`
}

// Descriptor names a thing.
type Descriptor struct {
	Name      string   `json:"name,omitempty"`
	Code      string   `json:"code,omitempty"`
	ShortDesc string   `json:"short_desc,omitempty"`
	LongDesc  string   `json:"long_desc,omitempty"`
	Images    []string `json:"images,omitempty"`
}

// Category is a speciality (code, name) under a system of medicine
// (ParentCategoryID, e.g. "ALLOPATHY").
type Category struct {
	ID               string      `json:"id,omitempty"`
	ParentCategoryID string      `json:"parent_category_id,omitempty"`
	Descriptor       *Descriptor `json:"descriptor,omitempty"`
}

// Catalog is message.catalog of on_search.
type Catalog struct {
	Descriptor *Descriptor `json:"descriptor,omitempty"`
	Providers  []Provider  `json:"providers"`
}

// Provider is a facility: in a catalog with its doctors (fulfillments) and
// fees (items); in an order, its id alone.
type Provider struct {
	ID           string        `json:"id,omitempty"`
	Descriptor   *Descriptor   `json:"descriptor,omitempty"`
	Categories   []Category    `json:"categories,omitempty"`
	Locations    []Location    `json:"locations,omitempty"`
	Fulfillments []Fulfillment `json:"fulfillments,omitempty"`
	Items        []Item        `json:"items,omitempty"`
}

// Location is a place or a search area.
type Location struct {
	ID       string   `json:"id,omitempty"`
	GPS      string   `json:"gps,omitempty"`
	Address  *Address `json:"address,omitempty"`
	City     *Named   `json:"city,omitempty"`
	District *Named   `json:"district,omitempty"`
	State    *Named   `json:"state,omitempty"`
	Country  *Named   `json:"country,omitempty"`
	Circle   *Circle  `json:"circle,omitempty"`
}

// Named is a {name, code} pair (a city, a state).
type Named struct {
	Name string `json:"name,omitempty"`
	Code string `json:"code,omitempty"`
}

// UnmarshalJSON reads the object, or a bare string as the name: some
// patient apps write "city": "Pune" where the Beckn schema has
// {"name": "Pune"}.
func (n *Named) UnmarshalJSON(b []byte) error {
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return err
		}
		*n = Named{Name: s}
		return nil
	}
	type plain Named
	return json.Unmarshal(b, (*plain)(n))
}

// Circle is a search area: a GPS centre and a radius.
type Circle struct {
	GPS    string    `json:"gps,omitempty"`
	Radius *Quantity `json:"radius,omitempty"`
}

// Quantity is a measured value ("5", "km").
type Quantity struct {
	Type  string `json:"type,omitempty"`
	Value string `json:"value,omitempty"`
	Unit  string `json:"unit,omitempty"`
}

// Address is a postal address (billing, facility).
type Address struct {
	Door     string `json:"door,omitempty"`
	Name     string `json:"name,omitempty"`
	Building string `json:"building,omitempty"`
	Street   string `json:"street,omitempty"`
	Locality string `json:"locality,omitempty"`
	Ward     string `json:"ward,omitempty"`
	City     string `json:"city,omitempty"`
	State    string `json:"state,omitempty"`
	Country  string `json:"country,omitempty"`
	AreaCode string `json:"area_code,omitempty"`
}

// Fulfillment is a doctor (first catalog), a free slot (second catalog) or
// the booked slot (order): id is the slot's UUID in the last two.
type Fulfillment struct {
	ID         string `json:"id,omitempty"`
	Type       string `json:"type,omitempty"`
	ProviderID string `json:"provider_id,omitempty"`
	Agent      *Agent `json:"agent,omitempty"`
	Start      *Stop  `json:"start,omitempty"`
	End        *Stop  `json:"end,omitempty"`
	Tags       Tags   `json:"tags,omitempty"`
}

// ServiceType is the fulfillment's type, read leniently.
func (f *Fulfillment) ServiceType() ServiceType {
	if f == nil {
		return ServiceUnknown
	}
	return ParseServiceType(f.Type)
}

// Agent is the doctor: id is the HPR address.
type Agent struct {
	ID     string `json:"id,omitempty"`
	Name   string `json:"name,omitempty"`
	Gender string `json:"gender,omitempty"`
	Image  string `json:"image,omitempty"`
	Cred   string `json:"cred,omitempty"`
	Tags   Tags   `json:"tags,omitempty"`
}

// Stop is a fulfillment's start or end.
type Stop struct {
	Time StopTime `json:"time"`
}

// StopTime holds a slot time: India local time, no zone (LocalTimeLayout).
// DecodeBooking checks it and rewrites it in that form.
type StopTime struct {
	Timestamp string `json:"timestamp"`
}

// At makes a Stop at t, written as India local time.
func At(t time.Time) *Stop { return &Stop{Time: StopTime{Timestamp: FormatLocalTime(t)}} }

// Item is the consultation offered or ordered: price and the slot
// (fulfillment_id) it is for.
type Item struct {
	ID            string      `json:"id,omitempty"`
	Descriptor    *Descriptor `json:"descriptor,omitempty"`
	Price         *Price      `json:"price,omitempty"`
	FulfillmentID string      `json:"fulfillment_id,omitempty"`
	CategoryID    string      `json:"category_id,omitempty"`
	Quantity      *Count      `json:"quantity,omitempty"`
}

// Count is an item's quantity.
type Count struct {
	Count int `json:"count"`
}

// Price is an amount: currency "INR", value a decimal string ("500.0").
type Price struct {
	Currency string `json:"currency"`
	Value    string `json:"value"`
}

// Order is message.order.
type Order struct {
	ID       string    `json:"id,omitempty"`
	State    string    `json:"state,omitempty"`
	Provider *Provider `json:"provider,omitempty"`
	// Item is the ordered consultation as the reference apps send it;
	// Items is the array form. Decoding reads either (Order.TheItem).
	Item          *Item               `json:"item,omitempty"`
	Items         []Item              `json:"items,omitempty"`
	Fulfillment   *Fulfillment        `json:"fulfillment,omitempty"`
	Billing       *Billing            `json:"billing,omitempty"`
	Customer      *Customer           `json:"customer,omitempty"`
	Payment       *Payment            `json:"payment,omitempty"`
	Quote         *Quote              `json:"quote,omitempty"`
	Terms         []Term              `json:"terms,omitempty"`
	Authorization *OrderAuthorization `json:"authorization,omitempty"`
	Tags          Tags                `json:"tags,omitempty"`
}

// TheItem returns the ordered item: item, else the first of items, else nil.
func (o *Order) TheItem() *Item {
	switch {
	case o == nil:
		return nil
	case o.Item != nil:
		return o.Item
	case len(o.Items) > 0:
		return &o.Items[0]
	}
	return nil
}

// Tag looks a tag up in the fulfillment's tags, then the order's.
func (o *Order) Tag(name string) (string, bool) {
	if o == nil {
		return "", false
	}
	if o.Fulfillment != nil {
		if v, ok := o.Fulfillment.Tags.Get(name); ok {
			return v, true
		}
	}
	return o.Tags.Get(name)
}

// UnagreedTerm returns the first term whose termsState is not AGREED
// (case-insensitive), if any: one such term is a rejection of the order.
func (o *Order) UnagreedTerm() (Term, bool) {
	if o == nil {
		return Term{}, false
	}
	for _, t := range o.Terms {
		if !equalFoldTrim(t.TermsState, TermsAgreed) {
			return t, true
		}
	}
	return Term{}, false
}

// Billing is who pays.
type Billing struct {
	Name    string   `json:"name,omitempty"`
	Address *Address `json:"address,omitempty"`
	Email   string   `json:"email,omitempty"`
	Phone   string   `json:"phone,omitempty"`
}

// Customer is the patient: id is the ABHA address (the 2022 app sent it as
// cred with an empty id; Customer.Address reads either).
type Customer struct {
	ID     string          `json:"id,omitempty"`
	Cred   string          `json:"cred,omitempty"`
	Person *CustomerPerson `json:"person,omitempty"`
}

// Address returns the patient's ABHA address: id, else cred.
func (c *Customer) Address() string {
	if c == nil {
		return ""
	}
	if id := trim(c.ID); id != "" {
		return id
	}
	return trim(c.Cred)
}

// CustomerPerson is the patient's person block.
type CustomerPerson struct {
	Name   string `json:"name,omitempty"`
	Gender string `json:"gender,omitempty"`
	DOB    string `json:"dob,omitempty"`
	Tags   Tags   `json:"tags,omitempty"`
}

// Payment is how and whether the consultation is paid.
type Payment struct {
	URI      string         `json:"uri,omitempty"`
	TLMethod string         `json:"tl_method,omitempty"`
	Params   *PaymentParams `json:"params,omitempty"`
	Type     string         `json:"type,omitempty"`
	Status   string         `json:"status,omitempty"`
}

// PaymentParams are a payment's details.
type PaymentParams struct {
	TransactionID string `json:"transaction_id,omitempty"`
	Amount        string `json:"amount,omitempty"`
	Mode          string `json:"mode,omitempty"`
	VPA           string `json:"vpa,omitempty"`
	RedirectURL   string `json:"redirect_url,omitempty"`
}

// Quote is the price with its breakup.
type Quote struct {
	Price   Price          `json:"price"`
	Breakup []QuoteBreakup `json:"breakup,omitempty"`
}

// QuoteBreakup is one line of a quote.
type QuoteBreakup struct {
	Title string `json:"title"`
	Price Price  `json:"price"`
}

// Term is one of the five terms of today's network (Commercial,
// Settlement, Cancellation, Refund, Payment). on_init sends them
// INITIATED; the EUA returns them in confirm unchanged but for AGREED.
type Term struct {
	Type           string      `json:"type"`
	Descriptor     *Descriptor `json:"descriptor,omitempty"`
	ReasonRequired bool        `json:"reasonRequired"`
	TimePeriod     string      `json:"timePeriod,omitempty"`
	Reason         string      `json:"reason"`
	TermsState     string      `json:"termsState"`
}

// OrderAuthorization is the check-in PIN of today's network: type "PIN", a
// 4-digit token, valid from the booking to the end of the appointment
// day, status GENERATED, then VERIFIED or HSPAOVERRIDE. The token is
// written as a JSON string (a number would lose a leading zero) and read
// from a string or a number. It is never to be logged: LogValue hides it.
type OrderAuthorization struct {
	Type      string   `json:"type"`
	Token     PINToken `json:"token"`
	ValidFrom string   `json:"valid_from,omitempty"`
	ValidTo   string   `json:"valid_to,omitempty"`
	Status    string   `json:"status"`
}

// LogValue shows the authorization with its token hidden.
func (a OrderAuthorization) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", a.Type), slog.String("token", "****"),
		slog.String("valid_from", a.ValidFrom), slog.String("valid_to", a.ValidTo), slog.String("status", a.Status))
}

// PINToken is authorization.token.
type PINToken string

// UnmarshalJSON reads a string or a number.
func (p *PINToken) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	*p = PINToken(s)
	return err
}

// String hides the PIN, so that printing an order never shows it; use
// string(token) where the PIN itself is meant.
func (p PINToken) String() string { return "****" }

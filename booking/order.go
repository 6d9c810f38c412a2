package booking

import (
	"slices"
	"time"
)

// State is where an appointment stands. Its zero value is StateUnknown.
type State int

// The states of an appointment (docs/booking.md §3).
const (
	// StateUnknown is no state.
	StateUnknown State = iota
	// StateHeld: init holds the slot for the patient until HeldUntil.
	StateHeld
	// StateConfirmed: booked; the patient is expected.
	StateConfirmed
	// StateArrived: the patient is here (checked in with the PIN, or in
	// the waiting room for a teleconsultation).
	StateArrived
	// StateInCall: the consultation has started (APPOINTMENT_STARTED).
	StateInCall
	// StateCompleted: the consultation is over.
	StateCompleted
	// StateNoShow: the patient did not come.
	StateNoShow
	// StateCancelled: cancelled by the patient or the doctor; the slot is
	// free again.
	StateCancelled
	// StateLapsed: the hold ran out without a confirm, or the confirm
	// failed; the slot is free again.
	StateLapsed
)

// String is the state as the doctor's day shows it.
func (s State) String() string {
	switch s {
	case StateHeld:
		return "held"
	case StateConfirmed:
		return "booked"
	case StateArrived:
		return "arrived"
	case StateInCall:
		return "in call"
	case StateCompleted:
		return "completed"
	case StateNoShow:
		return "no-show"
	case StateCancelled:
		return "cancelled"
	case StateLapsed:
		return "lapsed"
	}
	return "unknown"
}

// Wire is the order state a patient's app is told (docs/booking.md §3).
func (s State) Wire() string {
	switch s {
	case StateHeld:
		return "INITIATED"
	case StateConfirmed, StateArrived:
		return "CONFIRMED"
	case StateInCall:
		return "APPOINTMENT_STARTED"
	case StateCompleted:
		return "COMPLETED"
	case StateNoShow:
		return "NO_SHOW"
	case StateCancelled:
		return "CANCELLED"
	case StateLapsed:
		return "FAILED"
	}
	return ""
}

// Booked reports whether the state belongs to the doctor's day: confirmed
// and after, but not a lapsed hold.
func (s State) Booked() bool { return s >= StateConfirmed && s <= StateCancelled }

// Final reports whether nothing more can happen to the appointment.
func (s State) Final() bool {
	return s == StateCompleted || s == StateNoShow || s == StateCancelled || s == StateLapsed
}

// PINStatus is where an in-clinic check-in stands (docs/booking.md §2).
type PINStatus int

// The PIN's states.
const (
	// PINNone: no PIN (a teleconsultation, or not confirmed yet).
	PINNone PINStatus = iota
	// PINGenerated: sent to the patient, not used yet.
	PINGenerated
	// PINVerified: the patient checked in with it.
	PINVerified
	// PINOverridden: the clinic checked the patient in without it, with a
	// reason code.
	PINOverridden
)

// Wire is the authorization status the patient's app is told.
func (s PINStatus) Wire() string {
	switch s {
	case PINGenerated:
		return "GENERATED"
	case PINVerified:
		return "VERIFIED"
	case PINOverridden:
		return "HSPAOVERRIDE"
	}
	return ""
}

// Patient is who booked, as their app told us.
type Patient struct {
	// Address is the ABHA address.
	Address string `json:"address"`
	// Name, Gender ("M", "F", "O") and DOB as given.
	Name   string `json:"name,omitempty"`
	Gender string `json:"gender,omitempty"`
	DOB    string `json:"dob,omitempty"`
	// Phone and Email from the billing block.
	Phone string `json:"phone,omitempty"`
	Email string `json:"email,omitempty"`
	// ConsumerID and ConsumerURI are the patient's app on the network,
	// where its callbacks go.
	ConsumerID  string `json:"consumer_id"`
	ConsumerURI string `json:"consumer_uri"`
	// ChatKey is the patient's chat public key from confirm, when sent.
	ChatKey string `json:"chat_key,omitempty"`
}

// Order is one appointment: a slot held or booked by a patient.
type Order struct {
	// ID is the order id the patient's app quotes ("1234-567890-1234").
	ID string `json:"id"`
	// TransactionID is the booking's UHI transaction, which the
	// teleconsultation's on_message calls carry too.
	TransactionID string `json:"transaction_id"`
	// Doctor is the doctor's HPR address.
	Doctor string `json:"doctor"`
	// SlotID, Kind, Start and End are the slot's.
	SlotID string    `json:"slot_id"`
	Kind   Kind      `json:"kind"`
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"`
	// FulfillmentType is the type the patient's app used ("Physical",
	// "Teleconsultation", "Online"), echoed back to it.
	FulfillmentType string `json:"fulfillment_type,omitempty"`
	// Fee in paise.
	Fee int64 `json:"fee"`
	// Patient who booked.
	Patient Patient `json:"patient"`
	// State of the appointment, and since when.
	State   State     `json:"state"`
	Changed time.Time `json:"changed"`
	// HeldUntil is when a hold lapses (StateHeld only).
	HeldUntil time.Time `json:"held_until,omitzero"`
	// Terms are the terms the patient was offered, each with its state.
	Terms []Term `json:"terms,omitempty"`
	// PINHash is the check-in PIN's keyed hash (never the PIN).
	PINHash string `json:"pin_hash,omitempty"`
	// PINStatus, PINValidFrom and PINValidTo describe the check-in.
	PINStatus    PINStatus `json:"pin_status,omitempty"`
	PINValidFrom time.Time `json:"pin_valid_from,omitzero"`
	PINValidTo   time.Time `json:"pin_valid_to,omitzero"`
	// Override is the reason code of a check-in without the PIN.
	Override string `json:"override,omitempty"`
	// CancelledBy is "patient" or "doctor", and CancelReason the code.
	CancelledBy  string `json:"cancelled_by,omitempty"`
	CancelReason string `json:"cancel_reason,omitempty"`
	// Created is when init made the order.
	Created time.Time `json:"created"`
	// Revision is the store's version of the order, for compare-and-set;
	// 0 before it is stored.
	Revision uint64 `json:"-"`
}

// Term is one of the terms of a booking (docs/booking.md §2).
type Term struct {
	// Name: Commercial, Settlement, Cancellation, Refund, Payment.
	Name string `json:"name"`
	// Text is what the patient agrees to.
	Text string `json:"text"`
	// State is INITIATED when offered, AGREED when accepted.
	State string `json:"state"`
}

// Term states.
const (
	TermInitiated = "INITIATED"
	TermAgreed    = "AGREED"
)

// Holds reports whether the order keeps its slot from others at now.
func (o Order) Holds(now time.Time) bool {
	switch {
	case o.State == StateHeld:
		return now.Before(o.HeldUntil)
	case o.State == StateCancelled, o.State == StateLapsed, o.State == StateUnknown:
		return false
	}
	return true
}

// The cancel reason codes (docs/booking.md §2).
const (
	CancelledByPatient = "patient"
	CancelledByDoctor  = "doctor"
)

// DoctorCancelReasons are the codes a doctor cancels with.
func DoctorCancelReasons() []string {
	return []string{"DOCTOR_PERSONAL_EMERGENCY", "DOCTOR_UNAVAILABLE", "DOCTOR_SCHEDULE_CHANGE",
		"FACILITY_CLOSURE", "TECHNICAL_SYSTEM_ISSUE", "DOCTOR_OTHER"}
}

// PatientCancelReasons are the codes a patient cancels with.
func PatientCancelReasons() []string {
	return []string{"PATIENT_PERSONAL_EMERGENCY", "PATIENT_HEALTH_IMPROVED", "PATIENT_UNABLE_TO_VISIT_PHYSICALLY",
		"DOCTOR_ASKED_TO_CANCEL", "PATIENT_BOOKED_IN_ERROR", "PATIENT_SEEKING_ALTERNATIVE", "PATIENT_OTHER"}
}

// OverrideReasons are the codes of a check-in without the PIN.
func OverrideReasons() []string {
	return []string{"OVERRIDE_EMERGENCY_CONSULTATION", "OVERRIDE_PIN_TECH_FAILURE", "OVERRIDE_PIN_DELIVERY_FAILURE",
		"OVERRIDE_VULNERABLE_PATIENT", "OVERRIDE_EUA_OUTAGE", "OVERRIDE_MISMATCH", "OVERRIDE_OTHER"}
}

// DefaultTerms are the five terms a booking offers (docs/booking.md §2),
// for the fee given in rupees.
func DefaultTerms(fee string) []Term {
	return []Term{
		{Name: "Commercial", Text: "The consultation fee is INR " + fee + ", payable to the facility.", State: TermInitiated},
		{Name: "Settlement", Text: "The fee is settled by the facility with the doctor.", State: TermInitiated},
		{Name: "Cancellation", Text: "Either side may cancel before the appointment starts.", State: TermInitiated},
		{Name: "Refund", Text: "A fee paid for an appointment the doctor cancels is refunded in full.", State: TermInitiated},
		{Name: "Payment", Text: "Payment is made at the facility or as the facility directs.", State: TermInitiated},
	}
}

func validReason(code string, allowed []string) bool { return slices.Contains(allowed, code) }

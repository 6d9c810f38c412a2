package booking

import "errors"

// Errors of the booking rules. Each is a refusal that changes nothing: the
// caller answers the patient with it (docs/booking.md §4 names the UHI code
// each one is sent with).
var (
	// ErrNoSlot means the slot named does not exist in the doctor's
	// schedule (never did, or is outside the booking window).
	ErrNoSlot = errors.New("no such slot")
	// ErrSlotTaken means another patient holds or has booked the slot.
	ErrSlotTaken = errors.New("slot already taken")
	// ErrSlotPast means the slot has already started.
	ErrSlotPast = errors.New("slot is in the past")
	// ErrNoOrder means no order has the id given.
	ErrNoOrder = errors.New("no such order")
	// ErrNotYours means the order belongs to another patient.
	ErrNotYours = errors.New("order belongs to another patient")
	// ErrTermsNotAgreed means a term of the order was not AGREED.
	ErrTermsNotAgreed = errors.New("terms not agreed")
	// ErrBadState means the order's state does not allow the change asked.
	ErrBadState = errors.New("not allowed in the order's state")
	// ErrHoldExpired means the hold on the slot lapsed before the confirm.
	ErrHoldExpired = errors.New("hold on the slot expired")
	// ErrBadPIN means the check-in PIN does not match, or has expired.
	ErrBadPIN = errors.New("wrong or expired PIN")
	// ErrBadReason means a cancel or override reason code is not one of
	// the codes allowed to the party giving it.
	ErrBadReason = errors.New("unknown reason code")
	// ErrConflict means the order changed since it was read (a store's
	// compare-and-set failed); the change is retried from a fresh read.
	ErrConflict = errors.New("order changed concurrently")
	// ErrBadSchedule means a schedule is not usable; the wrapping error
	// says where.
	ErrBadSchedule = errors.New("bad schedule")
	// ErrWrongKind means the slot is of another kind of consultation than
	// the one asked for.
	ErrWrongKind = errors.New("slot is of another kind of consultation")
)

package waitingroom

import "errors"

var (
	// ErrUnknownPatient is returned for an address the room has never heard
	// a READY from (or has evicted).
	ErrUnknownPatient = errors.New("waitingroom: unknown patient")
	// ErrNoAddress is returned by Ready when the patient has no address.
	ErrNoAddress = errors.New("waitingroom: patient has no address")
	// ErrNotWaiting is returned by Calling when the patient cannot be called
	// now: they are already being called or in a call, or they left.
	ErrNotWaiting = errors.New("waitingroom: patient is not waiting")
	// ErrNotCalling is returned by Answered when the patient is not being called.
	ErrNotCalling = errors.New("waitingroom: patient is not being called")
	// ErrNotInCall is returned by Ended when the patient is neither being
	// called nor in a call.
	ErrNotInCall = errors.New("waitingroom: patient is not in a call")
	// ErrInCall is returned by Left when the patient is being called or in a
	// call: a BYE then ends the call, which is reported with Ended.
	ErrInCall = errors.New("waitingroom: patient is in a call")
	// ErrBadOutcome is returned by Ended for a state that is not the outcome
	// of a call (StateDone, StateNoAnswer, StateLost, StateLeft or
	// StateUnreachable).
	ErrBadOutcome = errors.New("waitingroom: not a call outcome")
	// ErrRoomFull is returned by Ready when the room holds its capacity of
	// patients and none of them has finished, so none can be evicted.
	ErrRoomFull = errors.New("waitingroom: room is full")
	// ErrBadOption is returned by New for an option value out of range.
	ErrBadOption = errors.New("waitingroom: bad option")
)

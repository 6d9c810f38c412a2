package waitingroom

import "time"

// State is where a patient stands in the waiting room.
type State int

// The states of a patient. The zero value is StateUnknown.
const (
	// StateUnknown is the zero value and never the state of a known patient.
	StateUnknown State = iota
	// StateWaiting means the patient sent READY and waits to be called.
	StateWaiting
	// StateCalling means the doctor's OFFER is out and no answer has come.
	StateCalling
	// StateInCall means the patient answered and the call is on.
	StateInCall
	// StateDone means a call with the patient ended normally.
	StateDone
	// StateNoAnswer means the patient did not answer a call in time.
	StateNoAnswer
	// StateLost means the connection to the patient was lost mid-call.
	StateLost
	// StateLeft means the patient left: a BYE outside a call, or silence for
	// longer than the presence timeout.
	StateLeft
	// StateUnreachable means the patient's endpoint refused or failed the OFFER.
	StateUnreachable
)

// String returns the state in the words the waiting room shows.
func (s State) String() string {
	switch s {
	case StateWaiting:
		return "waiting"
	case StateCalling:
		return "calling"
	case StateInCall:
		return "in call"
	case StateDone:
		return "done"
	case StateNoAnswer:
		return "no answer"
	case StateLost:
		return "lost"
	case StateLeft:
		return "left"
	case StateUnreachable:
		return "unreachable"
	default:
		return "unknown"
	}
}

// Patient is one patient known to the waiting room from their READY.
type Patient struct {
	// Address is the patient's ABHA address; it identifies the patient.
	Address string
	// Name is the patient's name as sent by their app.
	Name string
	// Gender is as sent by their app ("M", "F", "O" or empty).
	Gender string
	// TransactionID is the booking's transaction id, echoed on every message
	// to the patient (docs/protocol.md §2).
	TransactionID string
	// ConsumerID and ConsumerURI say where to reach the patient's app.
	ConsumerID, ConsumerURI string
	// FirstHeard is when the patient's first READY arrived in this visit.
	FirstHeard time.Time
	// LastHeard is when anything was last heard from the patient.
	LastHeard time.Time
	// State is where the patient stands.
	State State
	// Seq orders patients by arrival: lower arrived first.
	Seq uint64
	// Note explains the last outcome (e.g. "connection lost"), or is empty.
	Note string
}

// Active reports whether the patient is being called or is in a call.
func (s State) Active() bool { return s == StateCalling || s == StateInCall }

// Finished reports whether the state is the outcome of a call or of leaving:
// the patient is neither waiting nor in a call. Finished patients are the
// first evicted when the room is full.
func (s State) Finished() bool {
	switch s {
	case StateDone, StateNoAnswer, StateLost, StateLeft, StateUnreachable:
		return true
	}
	return false
}

// Callable reports whether a call may start from this state: waiting, or a
// finished call that the doctor may retry while the patient is still
// present (done, no answer, lost, unreachable). A patient who left cannot be
// called: after a BYE the reference app must READY again before it takes a
// call (docs/protocol.md §3).
func (s State) Callable() bool {
	switch s {
	case StateWaiting, StateDone, StateNoAnswer, StateLost, StateUnreachable:
		return true
	}
	return false
}

// Waited returns how long the patient has been in this visit at now: the
// time since FirstHeard, or zero if unknown.
func (p Patient) Waited(now time.Time) time.Duration {
	if p.FirstHeard.IsZero() || now.Before(p.FirstHeard) {
		return 0
	}
	return now.Sub(p.FirstHeard)
}

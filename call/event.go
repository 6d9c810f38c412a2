package call

// Event is what a Session reports on its Events channel. It is one of
// StateEvent, PathEvent or StatsEvent. Events are delivered in order from one goroutine;
// a slow reader loses old StatsEvents, never a StateEvent.
type Event interface{ isEvent() }

// StateEvent reports that a call moved to a new State.
type StateEvent struct {
	// Peer is the patient's address (ABHA).
	Peer string
	// State is the new state.
	State State
	// Reason is set when State is StateEnded.
	Reason EndReason
	// Err is the underlying error, if one caused the change.
	Err error
}

// StatsEvent carries one sample of call statistics.
type StatsEvent struct {
	// Peer is the patient's address (ABHA).
	Peer string
	// Stats is the sample.
	Stats Stats
}

// PathEvent reports that ICE selected a candidate pair: the first when the
// call connects, another after a renomination or an ICE restart. Like a
// StateEvent it is never dropped.
type PathEvent struct {
	// Peer is the patient's address (ABHA).
	Peer string
	// Path is the pair now selected.
	Path Path
}

func (StateEvent) isEvent() {}
func (PathEvent) isEvent()  {}
func (StatsEvent) isEvent() {}

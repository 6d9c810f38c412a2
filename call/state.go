package call

// State is where a call stands in its life. The doctor's screen shows these
// words, so they are part of the interface (Calling, Connecting,
// Connected, Ended).
type State int

// The states of a call. The zero value is StateUnknown.
const (
	// StateUnknown is the zero value: no call has been set up.
	StateUnknown State = iota
	// StateCalling means the OFFER has been sent and no ANSWER has come yet.
	StateCalling
	// StateConnecting means the ANSWER arrived and ICE/DTLS are being set up.
	StateConnecting
	// StateConnected means media can flow both ways.
	StateConnected
	// StateReconnecting means ICE was disconnected and a restart is under way.
	StateReconnecting
	// StateEnded means the call is over; the event carries an EndReason.
	StateEnded
)

// String returns the word the doctor sees for the state.
func (s State) String() string {
	switch s {
	case StateCalling:
		return "Calling"
	case StateConnecting:
		return "Connecting"
	case StateConnected:
		return "Connected"
	case StateReconnecting:
		return "Reconnecting"
	case StateEnded:
		return "Ended"
	default:
		return "Unknown"
	}
}

// EndReason says why a call ended. Every ended call has one.
type EndReason int

// The reasons a call can end. The zero value is EndUnknown.
const (
	// EndUnknown is the zero value and never the reason of a real end.
	EndUnknown EndReason = iota
	// EndHangup means the doctor ended the call.
	EndHangup
	// EndRemoteBye means the patient sent BYE after answering.
	EndRemoteBye
	// EndDeclined means the patient sent BYE instead of an ANSWER.
	EndDeclined
	// EndNoAnswer means no ANSWER came within the ring timeout.
	EndNoAnswer
	// EndConnectionLost means ICE failed and could not be restored.
	EndConnectionLost
	// EndUnreachable means the patient's endpoint could not be reached with
	// the OFFER after retries.
	EndUnreachable
	// EndFailed means a local error (devices, codecs, SDP) stopped the call.
	EndFailed
	// EndShutdown means the console was closing.
	EndShutdown
	// EndNoNetwork means this side gathered no ICE candidate at all: no
	// interface to send media from, and no STUN or TURN server reached.
	EndNoNetwork
	// EndRejoined means the patient announced themselves from the waiting
	// room (READY) during the call: their side of the call is gone.
	EndRejoined
)

// String returns the reason in words the doctor reads on the call screen.
func (r EndReason) String() string {
	switch r {
	case EndHangup:
		return "ended by doctor"
	case EndRemoteBye:
		return "patient hung up"
	case EndDeclined:
		return "patient declined"
	case EndNoAnswer:
		return "no answer"
	case EndConnectionLost:
		return "connection lost"
	case EndUnreachable:
		return "patient unreachable"
	case EndFailed:
		return "call failed"
	case EndShutdown:
		return "console shut down"
	case EndNoNetwork:
		return "no network for media"
	case EndRejoined:
		return "patient rejoined the waiting room"
	default:
		return "unknown"
	}
}

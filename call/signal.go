package call

import (
	"context"

	"github.com/pion/webrtc/v4"
)

// SignalKind says what a Signal carries. The values mirror the call types of
// the UHI signalling payload (docs/protocol.md §3); READY and ACK belong
// to the waiting room, not to a call, and have no kind here.
type SignalKind int

// The kinds of Signal. The zero value is SignalUnknown.
const (
	// SignalUnknown is the zero value and never sent.
	SignalUnknown SignalKind = iota
	// SignalOffer carries an SDP offer (the first call, or an ICE restart).
	SignalOffer
	// SignalAnswer carries an SDP answer.
	SignalAnswer
	// SignalCandidate carries one trickled ICE candidate.
	SignalCandidate
	// SignalBye ends the call: hang-up, reject or leaving.
	SignalBye
)

// String returns the UHI payload type for the kind, e.g. "OFFER".
func (k SignalKind) String() string {
	switch k {
	case SignalOffer:
		return "OFFER"
	case SignalAnswer:
		return "ANSWER"
	case SignalCandidate:
		return "CANDIDATE"
	case SignalBye:
		return "BYE"
	default:
		return "UNKNOWN"
	}
}

// Signal is one wire-independent signalling message between the two peers of
// a call. The wire adapter maps it to and from UHI payloads.
type Signal struct {
	// Kind says which of the other fields is set.
	Kind SignalKind
	// Description is the SDP of an OFFER or ANSWER.
	Description *webrtc.SessionDescription
	// Candidate is the ICE candidate of a CANDIDATE.
	Candidate *webrtc.ICECandidateInit
}

// valid reports whether the signal has the field its kind needs.
func (s Signal) valid() bool {
	switch s.Kind {
	case SignalOffer:
		return s.Description != nil && s.Description.Type == webrtc.SDPTypeOffer && s.Description.SDP != ""
	case SignalAnswer:
		return s.Description != nil && s.Description.Type == webrtc.SDPTypeAnswer && s.Description.SDP != ""
	case SignalCandidate:
		return s.Candidate != nil && s.Candidate.Candidate != ""
	case SignalBye:
		return true
	default:
		return false
	}
}

// Signaller delivers signals to the peer of one call. The wire adapter
// implements it (HTTP with retries). A session calls Send from one goroutine,
// in order, so an implementation needs no locking of its own for one call.
// Send should give up when ctx is done.
type Signaller interface {
	Send(ctx context.Context, s Signal) error
}

// SignallerFunc adapts a function to the Signaller interface.
type SignallerFunc func(ctx context.Context, s Signal) error

// Send calls f(ctx, s).
func (f SignallerFunc) Send(ctx context.Context, s Signal) error { return f(ctx, s) }

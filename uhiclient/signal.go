package uhiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// SignalType is the type of a signalling payload (docs/protocol.md §3). The zero value
// is SignalUnknown.
type SignalType int

// The six signalling types of docs/protocol.md §3.
const (
	// SignalUnknown is the zero value; it is never sent.
	SignalUnknown SignalType = iota
	// SignalReady is sent by the patient every 5 s while in the waiting room.
	SignalReady
	// SignalAck is the doctor's reply to READY (not the HTTP acknowledgement).
	SignalAck
	// SignalOffer carries the doctor's SDP offer; only the doctor initiates.
	SignalOffer
	// SignalAnswer carries the patient's SDP answer.
	SignalAnswer
	// SignalCandidate carries one trickled ICE candidate.
	SignalCandidate
	// SignalBye ends, rejects or leaves a call.
	SignalBye
)

var signalNames = [...]string{"UNKNOWN", "READY", "ACK", "OFFER", "ANSWER", "CANDIDATE", "BYE"}

// String returns the wire name ("OFFER"...), or "UNKNOWN".
func (t SignalType) String() string {
	if t < 0 || int(t) >= len(signalNames) {
		return "UNKNOWN"
	}
	return signalNames[t]
}

// ParseSignalType maps a wire name to its type, ignoring case and surrounding
// spaces; it returns SignalUnknown for anything else.
func ParseSignalType(s string) SignalType {
	s = strings.TrimSpace(s)
	for i := 1; i < len(signalNames); i++ {
		if strings.EqualFold(s, signalNames[i]) {
			return SignalType(i)
		}
	}
	return SignalUnknown
}

// SessionDescription is an SDP offer or answer as carried in data.description.
type SessionDescription struct {
	// Type is "offer" or "answer".
	Type string `json:"type"`
	// SDP is the session description text.
	SDP string `json:"sdp"`
}

// ICECandidate is one trickled candidate as carried in data.candidate, shaped
// like the browser's RTCIceCandidateInit.
type ICECandidate struct {
	// Candidate is the "candidate:..." line; empty means end of candidates.
	Candidate string `json:"candidate"`
	// SDPMid is the media stream id, or nil.
	SDPMid *string `json:"sdpMid"`
	// SDPMLineIndex is the m-line index, or nil.
	SDPMLineIndex *uint16 `json:"sdpMLineIndex"`
}

// Signal is a decoded signalling payload (content_value, docs/protocol.md §3). Which
// fields are meaningful depends on Type: Description for OFFER/ANSWER,
// Candidate for CANDIDATE, SessionID for OFFER/ANSWER/CANDIDATE/BYE.
type Signal struct {
	// Type is the payload type.
	Type SignalType
	// Sender is the wrapper "sender": the sender's own address.
	Sender string
	// To is data.to.
	To string
	// From is data.from; the reference patient app always sends "", so never
	// identify anyone by it (docs/protocol.md §3).
	From string
	// SessionID is data.session_id, "<doctor>-<patient>" (see SessionID).
	SessionID string
	// Media is data.media on an OFFER ("video").
	Media string
	// Description is data.description on OFFER and ANSWER.
	Description *SessionDescription
	// Candidate is data.candidate on CANDIDATE.
	Candidate *ICECandidate
}

// SessionID builds the session id of docs/protocol.md §3: "<doctor>-<patient>". It is
// an opaque token: addresses may contain '-', so never split it.
func SessionID(doctor, patient string) string { return doctor + "-" + patient }

// wireSignal is content_value's JSON shape.
type wireSignal struct {
	Type   string          `json:"type"`
	Data   json.RawMessage `json:"data"`
	Sender string          `json:"sender"`
}

// offerData and friends keep the field order the reference apps write.
type offerData struct {
	To          string              `json:"to"`
	From        string              `json:"from"`
	Description *SessionDescription `json:"description"`
	SessionID   string              `json:"session_id"`
	Media       string              `json:"media,omitempty"`
}

type candidateData struct {
	To        string        `json:"to"`
	From      string        `json:"from"`
	Candidate *ICECandidate `json:"candidate"`
	SessionID string        `json:"session_id"`
}

type byeData struct {
	SessionID string `json:"session_id"`
	From      string `json:"from"`
}

// validate checks what each type needs before it is sent.
func (s *Signal) validate() error {
	switch s.Type {
	case SignalReady, SignalAck:
	case SignalOffer, SignalAnswer:
		if s.Description == nil || s.Description.SDP == "" {
			return fmt.Errorf("%w: %s needs an SDP", ErrBadSignal, s.Type)
		}
		if s.SessionID == "" {
			return fmt.Errorf("%w: %s needs a session id", ErrBadSignal, s.Type)
		}
	case SignalCandidate:
		if s.Candidate == nil {
			return fmt.Errorf("%w: CANDIDATE needs a candidate", ErrBadSignal)
		}
		if s.SessionID == "" {
			return fmt.Errorf("%w: CANDIDATE needs a session id", ErrBadSignal)
		}
	case SignalBye:
	default:
		return fmt.Errorf("%w: unknown type %d", ErrBadSignal, int(s.Type))
	}
	return nil
}

// MarshalJSON writes content_value's inner document:
// {"type":"<TYPE>","data":<object or true>,"sender":"<address>"} (docs/protocol.md §3).
func (s Signal) MarshalJSON() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	var data any
	switch s.Type {
	case SignalReady, SignalAck:
		data = true
	case SignalOffer, SignalAnswer:
		d := *s.Description
		if d.Type == "" {
			d.Type = strings.ToLower(s.Type.String())
		}
		data = offerData{To: s.To, From: s.From, Description: &d, SessionID: s.SessionID, Media: s.Media}
	case SignalCandidate:
		data = candidateData{To: s.To, From: s.From, Candidate: s.Candidate, SessionID: s.SessionID}
	case SignalBye:
		data = byeData{SessionID: s.SessionID, From: s.From}
	}
	raw, err := marshalNoEscape(data)
	if err != nil {
		return nil, err
	}
	return marshalNoEscape(wireSignal{Type: s.Type.String(), Data: raw, Sender: s.Sender})
}

// marshalNoEscape encodes like Jackson does: no \u003c for <, >, &.
func marshalNoEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Package callwire carries one call's signalling over the UHI wire. It maps the
// media engine's wire-independent call.Signal to and from the uhiclient
// payloads of docs/protocol.md §3 and posts them with a uhiclient.Client, so the
// doctor's console and the simulated patient share one mapping.
package callwire

import (
	"context"
	"errors"
	"fmt"

	"github.com/pion/webrtc/v4"

	"teleconsole/call"
	"teleconsole/uhiclient"
)

// ErrNotCallSignal is returned by FromWire for READY and ACK, which belong to
// the waiting room rather than to a call.
var ErrNotCallSignal = errors.New("not a call signal")

// Peer is the signalling path of one call to the other side: it implements
// call.Signaller. It is safe for concurrent use.
type Peer struct {
	client    uhiclient.Sender
	builder   *uhiclient.Builder
	uri       string
	session   string
	emptyFrom bool
}

// Option configures a Peer.
type Option func(*Peer)

// WithEmptyFrom makes the Peer write "from":"" in its payloads, as the
// reference patient app does (docs/protocol.md §3), so a simulated patient tests the
// doctor's side against that quirk.
func WithEmptyFrom() Option { return func(p *Peer) { p.emptyFrom = true } }

// New returns the signalling path to the peer described by b's identity,
// posting to peerURI (the patient's consumer_uri or the doctor's
// provider_uri; client appends /on_message) under sessionID.
func New(client uhiclient.Sender, b *uhiclient.Builder, peerURI, sessionID string, opts ...Option) *Peer {
	p := &Peer{client: client, builder: b, uri: peerURI, session: sessionID}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Send maps s to its UHI payload and posts it (call.Signaller).
func (p *Peer) Send(ctx context.Context, s call.Signal) error {
	sig, err := ToWire(s, p.session)
	if err != nil {
		return err
	}
	var env *uhiclient.Envelope
	if p.emptyFrom {
		id := p.builder.Identity()
		sig.Sender = id.Self.Address()
		if sig.Type != uhiclient.SignalBye {
			sig.To = id.Peer.Address()
		}
		env, err = p.builder.BuildRaw(sig)
	} else {
		env, err = p.builder.Build(sig)
	}
	if err != nil {
		return fmt.Errorf("send %s: %w", s.Kind, err)
	}
	if err := p.client.Send(ctx, p.uri, env); err != nil {
		return fmt.Errorf("send %s: %w", s.Kind, err)
	}
	return nil
}

// ToWire maps a call signal to the UHI payload of docs/protocol.md §3 for sessionID.
// The sender, to and from fields are left for the uhiclient.Builder.
func ToWire(s call.Signal, sessionID string) (uhiclient.Signal, error) {
	out := uhiclient.Signal{SessionID: sessionID}
	switch s.Kind {
	case call.SignalOffer, call.SignalAnswer:
		if s.Description == nil {
			return out, fmt.Errorf("%s without a description", s.Kind)
		}
		out.Type = uhiclient.SignalAnswer
		if s.Kind == call.SignalOffer {
			out.Type, out.Media = uhiclient.SignalOffer, "video"
		}
		out.Description = &uhiclient.SessionDescription{Type: s.Description.Type.String(), SDP: s.Description.SDP}
	case call.SignalCandidate:
		if s.Candidate == nil {
			return out, errors.New("CANDIDATE without a candidate")
		}
		out.Type = uhiclient.SignalCandidate
		out.Candidate = &uhiclient.ICECandidate{
			Candidate:     s.Candidate.Candidate,
			SDPMid:        s.Candidate.SDPMid,
			SDPMLineIndex: s.Candidate.SDPMLineIndex,
		}
	case call.SignalBye:
		out.Type = uhiclient.SignalBye
	default:
		return out, fmt.Errorf("cannot send a signal of kind %s", s.Kind)
	}
	return out, nil
}

// FromWire maps an inbound UHI payload to a call signal. READY and ACK give
// ErrNotCallSignal; an OFFER or ANSWER without SDP, or a CANDIDATE without a
// candidate, gives an error saying so.
func FromWire(s *uhiclient.Signal) (call.Signal, error) {
	switch s.Type {
	case uhiclient.SignalOffer, uhiclient.SignalAnswer:
		if s.Description == nil || s.Description.SDP == "" {
			return call.Signal{}, fmt.Errorf("%s without SDP", s.Type)
		}
		kind, typ := call.SignalOffer, webrtc.SDPTypeOffer
		if s.Type == uhiclient.SignalAnswer {
			kind, typ = call.SignalAnswer, webrtc.SDPTypeAnswer
		}
		return call.Signal{Kind: kind, Description: &webrtc.SessionDescription{Type: typ, SDP: s.Description.SDP}}, nil
	case uhiclient.SignalCandidate:
		if s.Candidate == nil || s.Candidate.Candidate == "" {
			return call.Signal{}, errors.New("CANDIDATE without a candidate")
		}
		return call.Signal{Kind: call.SignalCandidate, Candidate: &webrtc.ICECandidateInit{
			Candidate:     s.Candidate.Candidate,
			SDPMid:        s.Candidate.SDPMid,
			SDPMLineIndex: s.Candidate.SDPMLineIndex,
		}}, nil
	case uhiclient.SignalBye:
		return call.Signal{Kind: call.SignalBye}, nil
	default:
		return call.Signal{}, fmt.Errorf("%w: %s", ErrNotCallSignal, s.Type)
	}
}

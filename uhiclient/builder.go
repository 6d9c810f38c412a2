package uhiclient

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Defaults for the context block (docs/protocol.md §2).
const (
	// DefaultDomain is context.domain for health services.
	DefaultDomain = "nic2004:85111"
	// DefaultCountry is context.country.
	DefaultCountry = "IND"
	// DefaultCity is context.city.
	DefaultCity = "std:080"
	// DefaultCoreVersion is context.core_version.
	DefaultCoreVersion = "0.7.1"
)

// Identity is one side's view of a consultation: who it is, who the peer is,
// and the routing values of the booking. The doctor's console fills Self with
// the doctor and Peer with the patient; a simulated patient does the opposite.
type Identity struct {
	// Self is the local participant; Self.Cred (or ID) is its address.
	Self Person
	// Peer is the remote participant.
	Peer Person
	// ConsumerID is the EUA's subscriber id.
	ConsumerID string
	// ConsumerURI is the EUA's base URI (prefer the appointment's value, docs/protocol.md §2).
	ConsumerURI string
	// ProviderID is the HSPA's subscriber id.
	ProviderID string
	// ProviderURI is the HSPA's base URI.
	ProviderURI string
	// TransactionID is the booking's transaction id, echoed on every message.
	TransactionID string
	// Domain is context.domain (default DefaultDomain).
	Domain string
	// Country is context.country (default DefaultCountry).
	Country string
	// City is context.city (default DefaultCity).
	City string
	// CoreVersion is context.core_version (default DefaultCoreVersion).
	CoreVersion string
}

// Builder makes outbound envelopes for one Identity. It is safe for
// concurrent use: it holds no mutable state.
type Builder struct {
	id    Identity
	now   func() time.Time
	newID func() string
	loc   *time.Location
}

// BuilderOption configures a Builder.
type BuilderOption func(*Builder) error

// WithBuilderClock sets the clock used for timestamps (default time.Now).
func WithBuilderClock(now func() time.Time) BuilderOption {
	return func(b *Builder) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		b.now = now
		return nil
	}
}

// WithIDGenerator sets the message id generator (default: random UUIDs).
func WithIDGenerator(f func() string) BuilderOption {
	return func(b *Builder) error {
		if f == nil {
			return fmt.Errorf("%w: nil id generator", ErrBadOption)
		}
		b.newID = f
		return nil
	}
}

// WithLocation sets the zone of chat.time.timestamp, which the reference apps
// write as local time without zone (default time.Local).
func WithLocation(loc *time.Location) BuilderOption {
	return func(b *Builder) error {
		if loc == nil {
			return fmt.Errorf("%w: nil location", ErrBadOption)
		}
		b.loc = loc
		return nil
	}
}

// NewBuilder checks id and returns a Builder. Self and Peer need an address and
// TransactionID must be set; both cred and id of each person are filled from
// whichever is given (docs/protocol.md §2: send both).
func NewBuilder(id Identity, opts ...BuilderOption) (*Builder, error) {
	fill := func(p *Person, who string) error {
		addr := p.Address()
		if addr == "" {
			return fmt.Errorf("%w: %s has no address (cred or id)", ErrBadOption, who)
		}
		p.Cred, p.ID = addr, addr
		return nil
	}
	if err := fill(&id.Self, "self"); err != nil {
		return nil, err
	}
	if err := fill(&id.Peer, "peer"); err != nil {
		return nil, err
	}
	if strings.TrimSpace(id.TransactionID) == "" {
		return nil, fmt.Errorf("%w: empty transaction id", ErrBadOption)
	}
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&id.Domain, DefaultDomain)
	def(&id.Country, DefaultCountry)
	def(&id.City, DefaultCity)
	def(&id.CoreVersion, DefaultCoreVersion)
	b := &Builder{id: id, now: time.Now, newID: func() string { return uuid.NewString() }, loc: time.Local}
	for _, o := range opts {
		if err := o(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Identity returns the builder's identity, with defaults filled in.
func (b *Builder) Identity() Identity { return b.id }

// Build wraps a signal in a new envelope: new message_id = content_id, both
// timestamps, both cred and id, transaction_id echoed and, when empty, the
// wrapper sender, to and from filled with the two addresses (docs/protocol.md §2, §3).
// Use BuildRaw to send a field empty on purpose.
func (b *Builder) Build(sig Signal) (*Envelope, error) {
	if sig.Sender == "" {
		sig.Sender = b.id.Self.Address()
	}
	if sig.From == "" {
		sig.From = b.id.Self.Address()
	}
	if sig.To == "" && sig.Type != SignalBye {
		sig.To = b.id.Peer.Address()
	}
	return b.BuildRaw(sig)
}

// BuildRaw is Build without the defaults for the signal's own fields, for
// reproducing peers' quirks (the reference patient app's "from":"").
func (b *Builder) BuildRaw(sig Signal) (*Envelope, error) {
	inner, err := json.Marshal(sig)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", sig.Type, err)
	}
	return b.envelope(ContentTypeSignalling, string(inner), nil), nil
}

// Text builds a chat text message (content_type "text") whose
// content_value is value: plain text, or an encrypted box from
// ChatSecret.Encrypt (docs/protocol.md §7).
func (b *Builder) Text(value string) *Envelope {
	return b.envelope(ContentTypeText, value, nil)
}

// Media builds a chat attachment (content_type "media") as the reference
// apps send one: the file as standard base64 in content_value, its name in
// content_fileName and content_filePath, and its type in content_mimetype
// (docs/protocol.md §7).
func (b *Builder) Media(name, mimeType string, data []byte) *Envelope {
	env := b.envelope(ContentTypeMedia, base64.StdEncoding.EncodeToString(data), nil)
	c := &env.Message.Intent.Chat.Content
	c.ContentFileName, c.ContentFilePath, c.ContentMimeType = name, name, mimeType
	return env
}

func (b *Builder) envelope(ctype, value string, url *string) *Envelope {
	mid := b.newID()
	now := b.now()
	id := &b.id
	return &Envelope{
		Context: Context{
			Domain: id.Domain, Country: id.Country, City: id.City,
			Action: ActionOnMessage, CoreVersion: id.CoreVersion,
			ConsumerID: id.ConsumerID, ConsumerURI: id.ConsumerURI,
			ProviderID: id.ProviderID, ProviderURI: id.ProviderURI,
			TransactionID: id.TransactionID, MessageID: mid,
			Timestamp: now.UTC().Format("2006-01-02T15:04:05.000000Z"),
		},
		Message: Message{Intent: Intent{Chat: Chat{
			Sender:   Party{Person: id.Self},
			Receiver: Party{Person: id.Peer},
			Content: Content{
				ContentID: mid, ContentValue: ContentValue(value),
				ContentType: ctype, ContentURL: url,
			},
			Time: ChatTime{Timestamp: now.In(b.loc).Format("2006-01-02T15:04:05")},
		}}},
	}
}

// Ready builds a READY (patient side, docs/protocol.md §3).
func (b *Builder) Ready() (*Envelope, error) { return b.Build(Signal{Type: SignalReady}) }

// Ack builds a signalling ACK, the doctor's reply to READY (docs/protocol.md §3).
func (b *Builder) Ack() (*Envelope, error) { return b.Build(Signal{Type: SignalAck}) }

// Offer builds an OFFER with media "video" (doctor side, docs/protocol.md §3).
func (b *Builder) Offer(sessionID, sdp string) (*Envelope, error) {
	return b.Build(Signal{Type: SignalOffer, SessionID: sessionID, Media: "video",
		Description: &SessionDescription{Type: "offer", SDP: sdp}})
}

// Answer builds an ANSWER (patient side, docs/protocol.md §3).
func (b *Builder) Answer(sessionID, sdp string) (*Envelope, error) {
	return b.Build(Signal{Type: SignalAnswer, SessionID: sessionID,
		Description: &SessionDescription{Type: "answer", SDP: sdp}})
}

// Candidate builds a CANDIDATE carrying one trickled candidate (docs/protocol.md §3).
func (b *Builder) Candidate(sessionID string, c ICECandidate) (*Envelope, error) {
	return b.Build(Signal{Type: SignalCandidate, SessionID: sessionID, Candidate: &c})
}

// Bye builds a BYE: hang-up, reject or leaving (docs/protocol.md §3).
func (b *Builder) Bye(sessionID string) (*Envelope, error) {
	return b.Build(Signal{Type: SignalBye, SessionID: sessionID})
}

// Marshal encodes an envelope the way Java peers do (no HTML escaping).
func Marshal(env *Envelope) ([]byte, error) { return marshalNoEscape(env) }

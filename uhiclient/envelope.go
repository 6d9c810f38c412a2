package uhiclient

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Content types seen on the wire (docs/protocol.md §2). Only ContentTypeSignalling is
// call signalling; the others are chat.
const (
	// ContentTypeSignalling marks a content_value that holds a signalling payload (docs/protocol.md §3).
	ContentTypeSignalling = "video_call_signalling"
	// ContentTypeText marks a plain chat text message.
	ContentTypeText = "text"
	// ContentTypeMedia marks a chat attachment.
	ContentTypeMedia = "media"
)

// ActionOnMessage is context.action for every peer-to-peer call (docs/protocol.md §1).
const ActionOnMessage = "on_message"

// Envelope is one UHI on_message request body (docs/protocol.md §2). Unknown fields are
// ignored on decode; every field below is written on encode.
type Envelope struct {
	// Context routes the message between network participants.
	Context Context `json:"context"`
	// Message holds the chat intent.
	Message Message `json:"message"`
}

// Context is the envelope's context block (docs/protocol.md §2).
type Context struct {
	// Domain is the UHI domain code, e.g. "nic2004:85111".
	Domain string `json:"domain"`
	// Country is the ISO country code, e.g. "IND".
	Country string `json:"country"`
	// City is the city code, e.g. "std:080".
	City string `json:"city"`
	// Action is "on_message" between participants (docs/protocol.md §1).
	Action string `json:"action"`
	// CoreVersion is the UHI core version, e.g. "0.7.1".
	CoreVersion string `json:"core_version"`
	// ConsumerID is the EUA's subscriber id.
	ConsumerID string `json:"consumer_id"`
	// ConsumerURI is the EUA's base URI; the HSPA posts to ConsumerURI + "/on_message".
	ConsumerURI string `json:"consumer_uri"`
	// ProviderID is the HSPA's subscriber id.
	ProviderID string `json:"provider_id"`
	// ProviderURI is the HSPA's base URI; the EUA posts to ProviderURI + "/on_message".
	ProviderURI string `json:"provider_uri"`
	// TransactionID is the booking's transaction id; it is echoed on every
	// message of a consultation.
	TransactionID string `json:"transaction_id"`
	// MessageID is a new UUID per message, equal to Content.ContentID.
	MessageID string `json:"message_id"`
	// Timestamp is the sending time in RFC 3339 UTC with microseconds.
	Timestamp string `json:"timestamp"`
}

// Message is the envelope's message block.
type Message struct {
	// Intent holds the chat.
	Intent Intent `json:"intent"`
}

// Intent is message.intent.
type Intent struct {
	// Chat is the chat message.
	Chat Chat `json:"chat"`
	// Content is where one damaged seed example puts the content, beside chat
	// instead of inside it; it is read only when Chat.Content is empty and never written.
	Content *Content `json:"content,omitempty"`
	// Time is the seed example's misplaced time; read only, never written.
	Time *ChatTime `json:"time,omitempty"`
}

// Chat is message.intent.chat.
type Chat struct {
	// Sender is who sent the message.
	Sender Party `json:"sender"`
	// Receiver is who the message is for.
	Receiver Party `json:"receiver"`
	// Content is the payload.
	Content Content `json:"content"`
	// Time is the local sending time without zone ("2006-01-02T15:04:05").
	Time ChatTime `json:"time"`
}

// Party wraps a person, as the wire does.
type Party struct {
	// Person is the participant.
	Person Person `json:"person"`
}

// Person is a patient or doctor. The reference apps use Cred, older peers ID;
// both are written and either is accepted (docs/protocol.md §2).
type Person struct {
	// Name is the display name.
	Name string `json:"name"`
	// Gender is "M", "F", "O" or empty.
	Gender string `json:"gender"`
	// Image is a URL or a (possibly large) base64 photo.
	Image string `json:"image"`
	// Cred is the participant's address (ABHA or HPR).
	Cred string `json:"cred"`
	// ID is the same address, for peers that read id.
	ID string `json:"id"`
}

// Address returns the participant's address: cred, or id when cred is empty.
func (p Person) Address() string {
	if c := strings.TrimSpace(p.Cred); c != "" {
		return c
	}
	return strings.TrimSpace(p.ID)
}

// Is reports whether addr names this person (cred or id, case-insensitive).
func (p Person) Is(addr string) bool {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return false
	}
	return strings.EqualFold(strings.TrimSpace(p.Cred), addr) || strings.EqualFold(strings.TrimSpace(p.ID), addr)
}

// Content is message.intent.chat.content.
type Content struct {
	// ContentID equals context.message_id.
	ContentID string `json:"content_id"`
	// ContentValue is the payload text; for signalling it is a JSON document
	// kept as a string (docs/protocol.md §2).
	ContentValue ContentValue `json:"content_value"`
	// ContentType is "video_call_signalling", "text" or "media".
	ContentType string `json:"content_type"`
	// ContentURL is the attachment URL for media, null otherwise.
	ContentURL *string `json:"content_url"`
	// ContentFileName is a media attachment's file name. The reference
	// apps write content_fileName; encoding/json matches keys without
	// regard to case, so content_filename reads here too (docs/protocol.md §7).
	ContentFileName string `json:"content_fileName,omitempty"`
	// ContentFilePath is the path the reference apps send beside the name
	// (their own device's); it is read and not used.
	ContentFilePath string `json:"content_filePath,omitempty"`
	// ContentMimeType is a media attachment's type, when the sender gives one.
	ContentMimeType string `json:"content_mimetype,omitempty"`
}

// ChatTime is message.intent.chat.time.
type ChatTime struct {
	// Timestamp is the local time without zone, e.g. "2022-10-20T11:25:40".
	Timestamp string `json:"timestamp"`
}

// ContentValue is content_value: a string on the wire that, for signalling,
// contains JSON (docs/protocol.md §2). On decode it also accepts a JSON object or
// array, kept as its JSON text, and null, kept as "".
type ContentValue string

// UnmarshalJSON accepts a string, an object/array (kept as JSON text) or null.
func (v *ContentValue) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		*v = ""
	case b[0] == '"':
		s, err := decodeJSONString(b)
		if err != nil {
			return err
		}
		*v = ContentValue(s)
	case b[0] == '{' || b[0] == '[':
		*v = ContentValue(b)
	default:
		return &json.UnmarshalTypeError{Value: "number or bool", Type: contentValueType}
	}
	return nil
}

var contentValueType = reflect.TypeFor[string]()

var uint16Type = reflect.TypeFor[uint16]()

package uhiclient

import (
	"errors"
	"fmt"
	"strings"
)

// Decoding errors (docs/protocol.md §2, §3). A *FieldError wraps one of them.
var (
	// ErrMalformedJSON means the body (or content_value) is not valid JSON or
	// has the wrong JSON type where an object was required.
	ErrMalformedJSON = errors.New("malformed JSON")
	// ErrMissingField means a field the protocol needs is absent, null or empty.
	ErrMissingField = errors.New("missing field")
	// ErrInvalidField means a field is present but its value cannot be used.
	ErrInvalidField = errors.New("invalid field")
)

// Server-side rejection errors (docs/protocol.md §1, §2).
var (
	// ErrBodyTooLarge means an inbound body exceeded the size limit (2 MiB by default).
	ErrBodyTooLarge = errors.New("body too large")
	// ErrNotForMe means the message's receiver is not one of the local addresses.
	ErrNotForMe = errors.New("message is for another receiver")
	// ErrQueueFull means the program could not take the message right now; the
	// sender is told to retry (HTTP 503) rather than having it dropped in silence.
	ErrQueueFull = errors.New("delivery queue full")
	// ErrNotAdmitted means the program's admission check refused a
	// signalling message (WithAdmission); the sender is told to retry
	// (HTTP 503), and the NACK's message says why after this text.
	ErrNotAdmitted = errors.New("not admitted")
)

// Signature errors (docs/protocol.md §5).
var (
	// ErrMissingSignature means verification is on and the request has no
	// Authorization header.
	ErrMissingSignature = errors.New("missing authorization header")
	// ErrMalformedHeader means the Authorization header cannot be parsed or
	// breaks the format of docs/protocol.md §5 (not a JSON object, bad keyId, wrong
	// algorithm, non-numeric created/expires...).
	ErrMalformedHeader = errors.New("malformed authorization header")
	// ErrBadSignature means the Ed25519 signature does not verify over the
	// signing string built from this body. A body changed after signing and a
	// wrong signature or key are indistinguishable here (the header does not
	// carry the digest), so the text names both; ErrDigestMismatch is the
	// precise answer when a Digest value was sent beside the signature.
	ErrBadSignature = errors.New("bad signature or digest mismatch (the signature does not verify over this body's digest with this key)")
	// ErrDigestMismatch means a Digest value sent beside the signature does not
	// match the BLAKE2b-512 digest of the body actually received.
	ErrDigestMismatch = errors.New("digest mismatch")
	// ErrExpired means the signature's expires time (plus clock-skew allowance)
	// is in the past.
	ErrExpired = errors.New("signature expired")
	// ErrNotYetValid means the signature's created time is in the future beyond
	// the clock-skew allowance.
	ErrNotYetValid = errors.New("signature not yet valid")
	// ErrUnknownKey means no public key is known for the header's keyId.
	ErrUnknownKey = errors.New("unknown keyId")
	// ErrLookup means the public key could not be fetched (registry down,
	// bad reply); it is temporary, unlike ErrUnknownKey.
	ErrLookup = errors.New("public key lookup failed")
	// ErrBadKey means a private or public key is not valid base64 PKCS#8 / SPKI
	// DER of an Ed25519 key.
	ErrBadKey = errors.New("bad ed25519 key")
)

// Configuration and client errors.
var (
	// ErrBadURI means a peer URI is empty, relative or not http(s).
	ErrBadURI = errors.New("bad peer URI")
	// ErrBadOption means an option was given an unusable value.
	ErrBadOption = errors.New("bad option")
	// ErrBadSignal means a signal handed to a constructor lacks what its type needs.
	ErrBadSignal = errors.New("bad signal")
)

// FieldError says which field of an inbound message is broken and why. Path is
// the dotted JSON path from the envelope root (for example
// "message.intent.chat.content.content_value.data.description.sdp"); it is
// what the NACK's error.path carries (docs/protocol.md §1).
type FieldError struct {
	// Path is the dotted JSON path of the broken field ("body" for the whole body).
	Path string
	// Reason says, in a few words, what is wrong with it.
	Reason string
	// Err is one of ErrMalformedJSON, ErrMissingField, ErrInvalidField.
	Err error
}

// Error implements error.
func (e *FieldError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Err, e.Path, e.Reason)
}

// Unwrap lets errors.Is match the sentinel kind.
func (e *FieldError) Unwrap() error { return e.Err }

func missing(path string) *FieldError {
	return &FieldError{Path: path, Reason: "required", Err: ErrMissingField}
}

func invalid(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidField}
}

// NackError is a peer's refusal of an on_message call (docs/protocol.md §1): either an
// HTTP error status or an acknowledgement whose status is NACK. Check for it
// with errors.As.
type NackError struct {
	// HTTPStatus is the status code of the reply.
	HTTPStatus int
	// Type is error.type from the reply body, if any.
	Type string
	// Code is error.code (for example "UHI-1405"), if any.
	Code string
	// Path is error.path, if any.
	Path string
	// Message is error.message, or a short excerpt of a non-UHI body.
	Message string
}

// Error implements error.
func (e *NackError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "peer NACK (HTTP %d)", e.HTTPStatus)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Type != "" {
		fmt.Fprintf(&b, " %s", e.Type)
	}
	if e.Path != "" {
		fmt.Fprintf(&b, " at %s", e.Path)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// Temporary reports whether the refusal is worth retrying (a 5xx status).
func (e *NackError) Temporary() bool { return e.HTTPStatus >= 500 }

// Chat encryption errors (docs/protocol.md §7).
var (
	// ErrBadChatKey means an X25519 key is not 32 bytes written as a JSON
	// array of integers, or gives a low-order shared secret.
	ErrBadChatKey = errors.New("bad chat key")
	// ErrNotSealed means a text message's content_value is not an encrypted
	// box (no cipher_text): it is plain text.
	ErrNotSealed = errors.New("not an encrypted chat message")
	// ErrBadSealed means an encrypted box is damaged: a field missing, not an
	// array of bytes, or of the wrong length.
	ErrBadSealed = errors.New("damaged encrypted chat message")
	// ErrBadMAC means an encrypted message's HMAC does not match: it was
	// changed on the way or sealed with another key. Nothing of it is shown.
	ErrBadMAC = errors.New("chat message MAC does not verify")
)

// Chat attachment errors (docs/protocol.md §7).
var (
	// ErrBadMedia means an attachment cannot be read: its content_value is
	// not base64, or its content_url is not a usable http(s) URL.
	ErrBadMedia = errors.New("bad attachment")
	// ErrMediaTooLarge means an attachment is over the size limit (5 MB by
	// default); a received one is NACKed with 413.
	ErrMediaTooLarge = errors.New("attachment too large")
)

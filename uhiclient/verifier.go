package uhiclient

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Verifier authenticates an inbound request. The server takes one; which one
// is in force is a deployment choice (docs/protocol.md §5: the reference patient
// backend sends a bearer token instead of a signature), and String names it so
// the mode can be shown to the user and logged.
type Verifier interface {
	// Verify checks the request headers against the exact body bytes and
	// returns the authenticated keyId ("" when nothing was checked).
	Verify(ctx context.Context, header http.Header, body []byte) (keyID string, err error)
	// String describes the mode, e.g. "off" or "ed25519 signatures (keyring ...)".
	String() string
}

// KeySource finds the public keys registered for a keyId (docs/protocol.md §5).
type KeySource interface {
	// PublicKeys returns the keys for keyID; ErrUnknownKey when there are
	// none, ErrLookup (wrapped) when the source could not be asked.
	PublicKeys(ctx context.Context, keyID string) ([]ed25519.PublicKey, error)
	// String describes the source.
	String() string
}

// NoVerification returns a Verifier that accepts every request. Its String is
// "off (requests are not authenticated)".
func NoVerification() Verifier { return noVerifier{} }

type noVerifier struct{}

func (noVerifier) Verify(context.Context, http.Header, []byte) (string, error) { return "", nil }
func (noVerifier) String() string                                              { return "off (requests are not authenticated)" }

// Default window rules for SignatureVerifier.
const (
	// DefaultClockSkew is how far created/expires may be off our clock.
	DefaultClockSkew = 30 * time.Second
	// DefaultMaxValidity is the longest expires - created accepted; ONDC-style
	// signers use an hour, the Java reference 10 s.
	DefaultMaxValidity = time.Hour
)

// SignatureVerifier checks the Authorization header of docs/protocol.md §5: header
// format, time window, optional Digest header, and the Ed25519 signature under
// a key found by keyId.
type SignatureVerifier struct {
	header      string
	keys        KeySource
	now         func() time.Time
	skew        time.Duration
	maxValidity time.Duration
}

// VerifierOption configures a SignatureVerifier.
type VerifierOption func(*SignatureVerifier) error

// WithVerifierClock sets the clock for the window check (default time.Now).
func WithVerifierClock(now func() time.Time) VerifierOption {
	return func(v *SignatureVerifier) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		v.now = now
		return nil
	}
}

// WithClockSkew sets the allowance on both ends of the window (default 30 s).
func WithClockSkew(d time.Duration) VerifierOption {
	return func(v *SignatureVerifier) error {
		if d < 0 {
			return fmt.Errorf("%w: negative skew", ErrBadOption)
		}
		v.skew = d
		return nil
	}
}

// WithMaxValidity sets the longest accepted expires - created (default 1 h; 0 = no limit).
func WithMaxValidity(d time.Duration) VerifierOption {
	return func(v *SignatureVerifier) error {
		if d < 0 {
			return fmt.Errorf("%w: negative validity", ErrBadOption)
		}
		v.maxValidity = d
		return nil
	}
}

// GatewayAuthorizationHeader is the header in which the gateway signs
// what it forwards (docs/protocol.md §8).
const GatewayAuthorizationHeader = "X-Gateway-Authorization"

// WithSignatureHeader makes the verifier read the signature from the
// header name instead of Authorization: GatewayAuthorizationHeader for
// the gateway's signature on a forwarded search (docs/protocol.md §8).
func WithSignatureHeader(name string) VerifierOption {
	return func(v *SignatureVerifier) error {
		name = strings.TrimSpace(name)
		if name == "" {
			return fmt.Errorf("%w: empty signature header", ErrBadOption)
		}
		v.header = http.CanonicalHeaderKey(name)
		return nil
	}
}

// NewSignatureVerifier returns a Verifier that requires a valid signature by a
// key from keys.
func NewSignatureVerifier(keys KeySource, opts ...VerifierOption) (*SignatureVerifier, error) {
	if keys == nil {
		return nil, fmt.Errorf("%w: nil key source", ErrBadOption)
	}
	v := &SignatureVerifier{header: "Authorization", keys: keys, now: time.Now, skew: DefaultClockSkew, maxValidity: DefaultMaxValidity}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// String names the mode and the key source.
func (v *SignatureVerifier) String() string {
	s := "ed25519 signatures, keys from " + v.keys.String()
	if v.header != "Authorization" {
		s += " (in " + v.header + ")"
	}
	return s
}

// Verify implements Verifier. Errors match ErrMissingSignature,
// ErrMalformedHeader, ErrExpired, ErrNotYetValid, ErrDigestMismatch,
// ErrUnknownKey, ErrLookup or ErrBadSignature.
func (v *SignatureVerifier) Verify(ctx context.Context, header http.Header, body []byte) (string, error) {
	value := header.Get(v.header)
	if strings.TrimSpace(value) == "" {
		if v.header != "Authorization" {
			return "", fmt.Errorf("%w: no %s", ErrMissingSignature, v.header)
		}
		return "", ErrMissingSignature
	}
	a, err := ParseAuthorization(value)
	if err != nil {
		return "", err
	}
	if err := a.CheckWindow(v.now(), v.skew, v.maxValidity); err != nil {
		return "", err
	}
	digest := Digest(body)
	if d := header.Get("Digest"); d != "" {
		if err := checkDigestHeader(d, digest); err != nil {
			return "", err
		}
	}
	keys, err := v.keys.PublicKeys(ctx, a.KeyID)
	if err != nil {
		return "", err
	}
	if len(keys) == 0 {
		return "", fmt.Errorf("%w: %s", ErrUnknownKey, a.KeyID)
	}
	for _, k := range keys {
		if err := a.VerifyDigest(k, digest); err == nil {
			return a.KeyID, nil
		}
	}
	return "", ErrBadSignature
}

// checkDigestHeader compares a "BLAKE-512=<b64>" Digest header (possibly one
// of several comma-separated algorithms) with the body's digest.
func checkDigestHeader(h, digest string) error {
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if len(part) > len(DigestHeaderPrefix) && strings.EqualFold(part[:len(DigestHeaderPrefix)], DigestHeaderPrefix) {
			if part[len(DigestHeaderPrefix):] != digest {
				return fmt.Errorf("%w: Digest header says %s, body is %s", ErrDigestMismatch, truncate(part[len(DigestHeaderPrefix):], 16), truncate(digest, 16))
			}
			return nil
		}
	}
	return nil
}

// VerifyAt checks one header value against body as of at, with the default
// skew, and against a single public key: the offline check behind
// "teleconsole verify". digestHeader may be "" or a Digest header value.
func VerifyAt(pub ed25519.PublicKey, authorization string, body []byte, digestHeader string, at time.Time) error {
	a, err := ParseAuthorization(authorization)
	if err != nil {
		return err
	}
	digest := Digest(body)
	if digestHeader != "" {
		if !strings.Contains(digestHeader, "=") {
			digestHeader = DigestHeaderPrefix + digestHeader
		}
		if err := checkDigestHeader(digestHeader, digest); err != nil {
			return err
		}
	}
	if err := a.VerifyDigest(pub, digest); err != nil {
		return err
	}
	return a.CheckWindow(at, DefaultClockSkew, 0)
}

// IsAuthError reports whether err is one of the signature errors that deserve
// an HTTP 401 (as opposed to a key source being unreachable).
func IsAuthError(err error) bool {
	for _, e := range []error{ErrMissingSignature, ErrMalformedHeader, ErrExpired, ErrNotYetValid, ErrDigestMismatch, ErrUnknownKey, ErrBadSignature, ErrBadKey} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

package uhiclient

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/blake2b"
)

// AlgorithmEd25519 is the only signature algorithm of docs/protocol.md §5.
const AlgorithmEd25519 = "ed25519"

// SignedHeaders is the "headers" value of docs/protocol.md §5.
const SignedHeaders = "(created) (expires) digest"

// DefaultTTL is expires - created for signatures this package makes; the Java
// reference uses 10 s (docs/protocol.md §5).
const DefaultTTL = 10 * time.Second

// DigestHeaderPrefix starts the optional Digest HTTP header value,
// "BLAKE-512=<base64>", that the client sends beside the signature so a
// receiver can tell a changed body from a bad signature.
const DigestHeaderPrefix = "BLAKE-512="

// Digest returns base64(BLAKE2b-512(body)) (docs/protocol.md §5).
func Digest(body []byte) string {
	sum := blake2b.Sum512(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// SigningString returns the one-line string of docs/protocol.md §5:
// "(created): C (expires): E digest: BLAKE-512=D".
func SigningString(created, expires int64, digest string) string {
	b := make([]byte, 0, 64+len(digest))
	b = append(b, "(created): "...)
	b = strconv.AppendInt(b, created, 10)
	b = append(b, " (expires): "...)
	b = strconv.AppendInt(b, expires, 10)
	b = append(b, " digest: BLAKE-512="...)
	b = append(b, digest...)
	return string(b)
}

// ToSign returns what is actually signed: the ASCII of
// base64(BLAKE2b-512(signing string)), the second hash of docs/protocol.md §5.
func ToSign(signing string) []byte {
	sum := blake2b.Sum512([]byte(signing))
	out := make([]byte, base64.StdEncoding.EncodedLen(len(sum)))
	base64.StdEncoding.Encode(out, sum[:])
	return out
}

// SignDigest signs a body digest for the window [created, expires] and
// returns the raw 64-byte Ed25519 signature.
func SignDigest(priv ed25519.PrivateKey, created, expires int64, digest string) []byte {
	return ed25519.Sign(priv, ToSign(SigningString(created, expires, digest)))
}

// Authorization is a parsed Authorization header (docs/protocol.md §5).
type Authorization struct {
	// KeyID is "<subscriber_id>|<unique_key_id>|ed25519".
	KeyID string
	// SubscriberID is KeyID's first part.
	SubscriberID string
	// UniqueKeyID is KeyID's second part.
	UniqueKeyID string
	// Algorithm is "ed25519".
	Algorithm string
	// Created is the signing time, Unix seconds.
	Created int64
	// Expires is the end of validity, Unix seconds.
	Expires int64
	// Headers is "(created) (expires) digest".
	Headers string
	// Signature is the raw 64-byte Ed25519 signature.
	Signature []byte
}

type wireAuthorization struct {
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
	Created   string `json:"created"`
	Expires   string `json:"expires"`
	Headers   string `json:"headers"`
	Signature string `json:"signature"`
}

// String returns the header value: a JSON object with string values, in the
// field order of docs/protocol.md §5.
func (a *Authorization) String() string {
	b, _ := marshalNoEscape(wireAuthorization{
		KeyID: a.KeyID, Algorithm: a.Algorithm,
		Created: strconv.FormatInt(a.Created, 10), Expires: strconv.FormatInt(a.Expires, 10),
		Headers: a.Headers, Signature: base64.StdEncoding.EncodeToString(a.Signature),
	})
	return string(b)
}

// VerifyDigest checks the signature against a body digest (base64 BLAKE2b-512).
// It does not look at the time window; see CheckWindow.
func (a *Authorization) VerifyDigest(pub ed25519.PublicKey, digest string) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: public key has %d bytes", ErrBadKey, len(pub))
	}
	if !ed25519.Verify(pub, ToSign(SigningString(a.Created, a.Expires, digest)), a.Signature) {
		return ErrBadSignature
	}
	return nil
}

// Verify checks the signature against the exact body bytes.
func (a *Authorization) Verify(pub ed25519.PublicKey, body []byte) error {
	return a.VerifyDigest(pub, Digest(body))
}

// CheckWindow checks created/expires against now with a clock-skew allowance
// (docs/protocol.md §5: the reference never checks; this console does, against
// replay). maxValidity > 0 also refuses windows longer than that.
func (a *Authorization) CheckWindow(now time.Time, skew, maxValidity time.Duration) error {
	t := now.Unix()
	s := int64(skew / time.Second)
	switch {
	case a.Created-s > t:
		return fmt.Errorf("%w: created %d is %ds in the future", ErrNotYetValid, a.Created, a.Created-t)
	case a.Expires+s < t:
		return fmt.Errorf("%w: expired at %d, %ds ago", ErrExpired, a.Expires, t-a.Expires)
	case maxValidity > 0 && a.Expires-a.Created > int64(maxValidity/time.Second):
		return fmt.Errorf("%w: validity window of %ds exceeds %s", ErrMalformedHeader, a.Expires-a.Created, maxValidity)
	}
	return nil
}

// ParseKeyID splits "<subscriber_id>|<unique_key_id>|ed25519". The subscriber
// id may itself contain '|'; the last two parts are the key id and algorithm.
func ParseKeyID(keyID string) (subscriber, uniqueKeyID string, err error) {
	keyID = strings.TrimSpace(keyID)
	if !utf8.ValidString(keyID) || strings.ContainsFunc(keyID, unicode.IsControl) {
		return "", "", fmt.Errorf("%w: keyId %q has invalid UTF-8 or control characters", ErrMalformedHeader, keyID)
	}
	i := strings.LastIndexByte(keyID, '|')
	if i < 0 {
		return "", "", fmt.Errorf("%w: keyId %q is not subscriber|keyid|ed25519", ErrMalformedHeader, keyID)
	}
	alg := keyID[i+1:]
	rest := keyID[:i]
	j := strings.LastIndexByte(rest, '|')
	if j < 0 {
		return "", "", fmt.Errorf("%w: keyId %q is not subscriber|keyid|ed25519", ErrMalformedHeader, keyID)
	}
	subscriber, uniqueKeyID = strings.TrimSpace(rest[:j]), strings.TrimSpace(rest[j+1:])
	if subscriber == "" || uniqueKeyID == "" {
		return "", "", fmt.Errorf("%w: keyId %q has an empty part", ErrMalformedHeader, keyID)
	}
	if !strings.EqualFold(strings.TrimSpace(alg), AlgorithmEd25519) {
		return "", "", fmt.Errorf("%w: keyId algorithm %q is not ed25519", ErrMalformedHeader, alg)
	}
	return subscriber, uniqueKeyID, nil
}

// ParseAuthorization parses an Authorization header value: the JSON object of
// docs/protocol.md §5 (values strings; numbers are tolerated for created/expires). As a
// courtesy it also reads the Beckn form `Signature keyId="...",...`.
func ParseAuthorization(value string) (*Authorization, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, ErrMissingSignature
	}
	var w struct {
		KeyID     flexString `json:"keyId"`
		Algorithm flexString `json:"algorithm"`
		Created   flexString `json:"created"`
		Expires   flexString `json:"expires"`
		Headers   flexString `json:"headers"`
		Signature flexString `json:"signature"`
	}
	switch {
	case value[0] == '{':
		if err := json.Unmarshal([]byte(value), &w); err != nil {
			return nil, fmt.Errorf("%w: not a JSON object of strings: %v", ErrMalformedHeader, err)
		}
	case len(value) > 10 && strings.EqualFold(value[:10], "signature "):
		kv, err := parseSignatureParams(value[10:])
		if err != nil {
			return nil, err
		}
		w.KeyID, w.Algorithm, w.Created = flexString(kv["keyId"]), flexString(kv["algorithm"]), flexString(kv["created"])
		w.Expires, w.Headers, w.Signature = flexString(kv["expires"]), flexString(kv["headers"]), flexString(kv["signature"])
	default:
		return nil, fmt.Errorf("%w: not a JSON object", ErrMalformedHeader)
	}
	a := &Authorization{KeyID: strings.TrimSpace(string(w.KeyID))}
	var err error
	if a.KeyID == "" {
		return nil, fmt.Errorf("%w: keyId missing", ErrMalformedHeader)
	}
	if a.SubscriberID, a.UniqueKeyID, err = ParseKeyID(a.KeyID); err != nil {
		return nil, err
	}
	a.Algorithm = strings.ToLower(strings.TrimSpace(string(w.Algorithm)))
	if a.Algorithm == "" {
		a.Algorithm = AlgorithmEd25519
	}
	if a.Algorithm != AlgorithmEd25519 {
		return nil, fmt.Errorf("%w: algorithm %q is not ed25519", ErrMalformedHeader, string(w.Algorithm))
	}
	if a.Created, err = parseUnix("created", string(w.Created)); err != nil {
		return nil, err
	}
	if a.Expires, err = parseUnix("expires", string(w.Expires)); err != nil {
		return nil, err
	}
	if a.Expires < a.Created {
		return nil, fmt.Errorf("%w: expires %d is before created %d", ErrMalformedHeader, a.Expires, a.Created)
	}
	a.Headers = strings.Join(strings.Fields(string(w.Headers)), " ")
	if a.Headers == "" {
		a.Headers = SignedHeaders
	}
	if !strings.EqualFold(a.Headers, SignedHeaders) {
		return nil, fmt.Errorf("%w: headers %q, only %q is supported", ErrMalformedHeader, a.Headers, SignedHeaders)
	}
	a.Headers = SignedHeaders
	sig := strings.TrimSpace(string(w.Signature))
	if sig == "" {
		return nil, fmt.Errorf("%w: signature missing", ErrMalformedHeader)
	}
	if a.Signature, err = decodeBase64(sig); err != nil {
		return nil, fmt.Errorf("%w: signature is not base64", ErrMalformedHeader)
	}
	if len(a.Signature) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: signature has %d bytes, want %d", ErrMalformedHeader, len(a.Signature), ed25519.SignatureSize)
	}
	return a, nil
}

func parseUnix(name, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%w: %s missing", ErrMalformedHeader, name)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: %s %q is not a positive Unix time", ErrMalformedHeader, name, s)
	}
	return n, nil
}

// parseSignatureParams reads `k="v",k="v"` (draft-cavage / Beckn form).
func parseSignatureParams(s string) (map[string]string, error) {
	kv := make(map[string]string, 6)
	for s = strings.TrimSpace(s); s != ""; {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, fmt.Errorf("%w: bad parameter near %q", ErrMalformedHeader, truncate(s, 20))
		}
		k := strings.TrimSpace(s[:eq])
		s = strings.TrimSpace(s[eq+1:])
		var v string
		if strings.HasPrefix(s, `"`) {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("%w: unterminated quote in %s", ErrMalformedHeader, k)
			}
			v, s = s[1:1+end], s[2+end:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			v, s = strings.TrimSpace(s[:end]), s[end:]
		}
		kv[k] = v
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, ",") {
			s = strings.TrimSpace(s[1:])
		} else if s != "" {
			return nil, fmt.Errorf("%w: expected ',' after %s", ErrMalformedHeader, k)
		}
	}
	return kv, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Signer makes Authorization headers for one key (docs/protocol.md §5).
type Signer struct {
	key   ed25519.PrivateKey
	keyID string
	ttl   time.Duration
	now   func() time.Time
}

// SignerOption configures a Signer.
type SignerOption func(*Signer) error

// WithTTL sets expires - created (default DefaultTTL, 10 s); it is rounded
// down to whole seconds and must be at least one second.
func WithTTL(ttl time.Duration) SignerOption {
	return func(s *Signer) error {
		if ttl < time.Second {
			return fmt.Errorf("%w: ttl %s under 1s", ErrBadOption, ttl)
		}
		s.ttl = ttl
		return nil
	}
}

// WithSignerClock sets the clock for created (default time.Now).
func WithSignerClock(now func() time.Time) SignerOption {
	return func(s *Signer) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		s.now = now
		return nil
	}
}

// NewSigner returns a Signer for keyId "<subscriberID>|<uniqueKeyID>|ed25519".
func NewSigner(priv ed25519.PrivateKey, subscriberID, uniqueKeyID string, opts ...SignerOption) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: private key has %d bytes", ErrBadKey, len(priv))
	}
	keyID := subscriberID + "|" + uniqueKeyID + "|" + AlgorithmEd25519
	if _, _, err := ParseKeyID(keyID); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOption, err)
	}
	s := &Signer{key: priv, keyID: keyID, ttl: DefaultTTL, now: time.Now}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// KeyID returns the signer's keyId.
func (s *Signer) KeyID() string { return s.keyID }

// DeriveKey returns a 32-byte secret for label, derived from the signing
// key (HMAC-SHA256 of the label under the key's seed): the same for the
// same key and label, and nothing of the key learnt from it. The console
// hashes the check-in PINs under one (docs/booking.md §3).
func (s *Signer) DeriveKey(label string) []byte {
	m := hmac.New(sha256.New, s.key.Seed())
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Sign returns the Authorization header value for body, created now.
func (s *Signer) Sign(body []byte) string { return s.SignAt(body, s.now()).String() }

// SignAt returns the parsed header for body signed at created.
func (s *Signer) SignAt(body []byte, created time.Time) *Authorization {
	c := created.Unix()
	e := c + int64(s.ttl/time.Second)
	sub, ukid, _ := ParseKeyID(s.keyID)
	return &Authorization{
		KeyID: s.keyID, SubscriberID: sub, UniqueKeyID: ukid, Algorithm: AlgorithmEd25519,
		Created: c, Expires: e, Headers: SignedHeaders,
		Signature: SignDigest(s.key, c, e, Digest(body)),
	}
}

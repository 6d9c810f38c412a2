package euatest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"
)

// The signature scheme of docs/protocol.md §5, written again here from the
// document so that the console's verifier is tested against a signer that
// shares no code with it.

// Errors of Verify.
var (
	// ErrNoHeader means the header is empty.
	ErrNoHeader = errors.New("euatest: no signature header")
	// ErrBadHeader means the header is not the JSON object of docs/protocol.md §5.
	ErrBadHeader = errors.New("euatest: malformed signature header")
	// ErrExpired means the header's window does not contain now.
	ErrExpired = errors.New("euatest: signature outside its window")
	// ErrBadSignature means the signature does not verify under the key.
	ErrBadSignature = errors.New("euatest: signature does not verify")
)

// ClockSkew is how far outside [created, expires] Verify still accepts.
const ClockSkew = 30 * time.Second

// Digest is base64(BLAKE2b-512(body)).
func Digest(body []byte) string {
	sum := blake2b.Sum512(body)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// SigningString is the one-line string that is hashed and signed.
func SigningString(created, expires int64, digest string) string {
	return "(created): " + strconv.FormatInt(created, 10) +
		" (expires): " + strconv.FormatInt(expires, 10) +
		" digest: BLAKE-512=" + digest
}

// ToSign is base64(BLAKE2b-512(signing)): the ASCII bytes that Ed25519 signs.
func ToSign(signing string) string {
	return Digest([]byte(signing))
}

// SignDigest signs a body's digest for the window [created, expires] and
// returns the base64 signature.
func SignDigest(priv ed25519.PrivateKey, created, expires int64, digest string) string {
	sig := ed25519.Sign(priv, []byte(ToSign(SigningString(created, expires, digest))))
	return base64.StdEncoding.EncodeToString(sig)
}

// header is the Authorization value; field order as the reference writes it.
type header struct {
	KeyID     string `json:"keyId"`
	Algorithm string `json:"algorithm"`
	Created   string `json:"created"`
	Expires   string `json:"expires"`
	Headers   string `json:"headers"`
	Signature string `json:"signature"`
}

// Key is a network participant's signing identity.
type Key struct {
	// SubscriberID is the participant's id (consumer_id, provider_id).
	SubscriberID string
	// UniqueKeyID is the key's id in the registry (pub_key_id, ukId).
	UniqueKeyID string
	// Private is the Ed25519 private key.
	Private ed25519.PrivateKey
}

// NewKey makes a fresh Ed25519 key for subscriber with key id ukid.
func NewKey(subscriber, ukid string) (Key, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	return Key{SubscriberID: subscriber, UniqueKeyID: ukid, Private: priv}, nil
}

// KeyID is "<subscriber>|<ukid>|ed25519".
func (k Key) KeyID() string { return k.SubscriberID + "|" + k.UniqueKeyID + "|ed25519" }

// Public is the public half.
func (k Key) Public() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// PublicBase64 is the public key as base64 of its X.509 SubjectPublicKeyInfo
// DER (44 bytes), the form registries and key files hold.
func (k Key) PublicBase64() string { return EncodePublic(k.Public()) }

// PrivateBase64 is the private key as base64 of its PKCS#8 DER (48 bytes).
func (k Key) PrivateBase64() string {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		panic(err) // an ed25519 key always marshals
	}
	return base64.StdEncoding.EncodeToString(der)
}

// Sign returns the Authorization header for body, created now, expiring 10 s
// later (as the reference signs).
func (k Key) Sign(body []byte) string {
	now := time.Now().Unix()
	return k.SignWindow(body, now, now+10)
}

// SignWindow returns the Authorization header for body with the given window.
func (k Key) SignWindow(body []byte, created, expires int64) string {
	h := header{
		KeyID: k.KeyID(), Algorithm: "ed25519",
		Created: strconv.FormatInt(created, 10), Expires: strconv.FormatInt(expires, 10),
		Headers:   "(created) (expires) digest",
		Signature: SignDigest(k.Private, created, expires, Digest(body)),
	}
	b, err := json.Marshal(h)
	if err != nil {
		panic(err) // strings always marshal
	}
	return string(b)
}

// EncodePublic is base64 of pub's X.509 SubjectPublicKeyInfo DER.
func EncodePublic(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // an ed25519 key always marshals
	}
	return base64.StdEncoding.EncodeToString(der)
}

// ParsePrivate reads a base64 PKCS#8 Ed25519 private key.
func ParsePrivate(b64 string) (ed25519.PrivateKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("euatest: private key: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("euatest: private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("euatest: private key is %T, not ed25519", k)
	}
	return priv, nil
}

// ParsePublic reads a base64 SubjectPublicKeyInfo Ed25519 public key.
func ParsePublic(b64 string) (ed25519.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("euatest: public key: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("euatest: public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("euatest: public key is %T, not ed25519", k)
	}
	return pub, nil
}

// HeaderKeyID returns the keyId of a signature header, or "" when the header
// does not parse.
func HeaderKeyID(value string) string {
	var h header
	if json.Unmarshal([]byte(value), &h) != nil {
		return ""
	}
	return h.KeyID
}

// Verify checks a signature header over body with pub at time now: the JSON
// form, the algorithm and header list, the window (with ClockSkew) and the
// signature.
func Verify(value string, body []byte, pub ed25519.PublicKey, now time.Time) error {
	if strings.TrimSpace(value) == "" {
		return ErrNoHeader
	}
	var h header
	if err := json.Unmarshal([]byte(value), &h); err != nil {
		return fmt.Errorf("%w: %v", ErrBadHeader, err)
	}
	if h.Algorithm != "ed25519" || h.Headers != "(created) (expires) digest" || strings.Count(h.KeyID, "|") < 2 {
		return fmt.Errorf("%w: %s", ErrBadHeader, value)
	}
	created, err1 := strconv.ParseInt(h.Created, 10, 64)
	expires, err2 := strconv.ParseInt(h.Expires, 10, 64)
	if err1 != nil || err2 != nil || expires < created {
		return fmt.Errorf("%w: window %q..%q", ErrBadHeader, h.Created, h.Expires)
	}
	skew := int64(ClockSkew / time.Second)
	if n := now.Unix(); n < created-skew || n > expires+skew {
		return fmt.Errorf("%w: %d..%d, now %d", ErrExpired, created, expires, n)
	}
	sig, err := base64.StdEncoding.DecodeString(h.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: signature is not 64 bytes of base64", ErrBadHeader)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: no key", ErrBadSignature)
	}
	if !ed25519.Verify(pub, []byte(ToSign(SigningString(created, expires, Digest(body)))), sig) {
		return fmt.Errorf("%w (keyId %s)", ErrBadSignature, h.KeyID)
	}
	return nil
}

package rx

import (
	"bytes"
	"compress/flate"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Signed is a prescription frozen by the doctor's signature: Content is
// the exact bytes signed (the prescription as JSON), Hash their SHA-256,
// Signature the Ed25519 signature of Content by the doctor's UHI key.
type Signed struct {
	Prescription Prescription
	Content      []byte
	Hash         string
	Signature    []byte
	// KeyID is the signing key's UHI keyId ("subscriber_id|unique_key_id"),
	// by which the registry finds its public key; PublicKey is that key.
	KeyID     string
	PublicKey ed25519.PublicKey
}

// Key is the doctor's UHI signing key: uhiclient.Signer is one.
type Key interface {
	// KeyID is the key's UHI keyId ("subscriber_id|unique_key_id").
	KeyID() string
	// PublicKey is its public half.
	PublicKey() ed25519.PublicKey
	// SignBytes is the Ed25519 signature of msg.
	SignBytes(msg []byte) []byte
}

// Ed25519Key is a Key from a bare private key and its key id.
type Ed25519Key struct {
	Private ed25519.PrivateKey
	ID      string
}

// KeyID is k's key id.
func (k Ed25519Key) KeyID() string { return k.ID }

// PublicKey is k's public key.
func (k Ed25519Key) PublicKey() ed25519.PublicKey { return k.Private.Public().(ed25519.PublicKey) }

// SignBytes signs msg with k.
func (k Ed25519Key) SignBytes(msg []byte) []byte { return ed25519.Sign(k.Private, msg) }

// ErrNoKey means the console has no key to sign with.
var ErrNoKey = errors.New("no signing key: the console signs prescriptions with its UHI key (--private-key)")

// Sign validates p, stamps it issued at now, and signs it with the doctor's
// UHI key. The notes are Validate's.
func Sign(p Prescription, r *Rules, key Key, now time.Time) (Signed, []string, error) {
	if key == nil || len(key.PublicKey()) != ed25519.PublicKeySize {
		return Signed{}, nil, ErrNoKey
	}
	notes, err := p.Validate(r)
	if err != nil {
		return Signed{}, notes, err
	}
	p.Issued = now.UTC().Truncate(time.Second)
	p.Doctor.SignatureImage = ""
	content, err := json.Marshal(p)
	if err != nil {
		return Signed{}, notes, fmt.Errorf("rx: %w", err)
	}
	s := Signed{Prescription: p, Content: content, Signature: key.SignBytes(content),
		KeyID: key.KeyID(), PublicKey: key.PublicKey()}
	if err := s.Verify(); err != nil {
		return Signed{}, notes, fmt.Errorf("rx: the key's signature does not verify: %w", err)
	}
	s.Hash = hashOf(content)
	if _, err := s.QR(); err != nil {
		return Signed{}, notes, err
	}
	return s, notes, nil
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// ErrBadSignature means the signature does not match the content: the
// prescription was changed after signing, or not signed by that key.
var ErrBadSignature = errors.New("the signature does not match the prescription: it was changed after signing, or forged")

// Verify checks the signature of the content by the public key.
func (s Signed) Verify() error {
	if len(s.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(s.PublicKey, s.Content, s.Signature) {
		return ErrBadSignature
	}
	return nil
}

// Open rebuilds a signed prescription from its stored parts and checks it.
func Open(content, signature []byte, keyID string, pub ed25519.PublicKey) (Signed, error) {
	s := Signed{Content: content, Signature: signature, KeyID: keyID, PublicKey: pub, Hash: hashOf(content)}
	if err := s.Verify(); err != nil {
		return s, err
	}
	if err := json.Unmarshal(content, &s.Prescription); err != nil {
		return s, fmt.Errorf("rx: signed content: %w", err)
	}
	return s, nil
}

// qrPrefix begins every prescription QR code: the format and its version.
const qrPrefix = "TCRX1:"

// MaxQR is the most characters a prescription's QR text may have: what a
// QR code at error correction level M holds in byte mode (version 40)
// less a margin, so that it stays readable on a phone's photo.
const MaxQR = 2000

// ErrTooLong means the prescription does not fit in a QR code.
var ErrTooLong = errors.New("rx: the prescription is too long for its QR code: shorten the notes")

// QR is the text of the prescription's QR code: "TCRX1:" and, in
// unpadded base64url, the DEFLATE of the signature (64 bytes), the public
// key (32), the key id's length (1 byte) and the key id, then the content.
func (s Signed) QR() (string, error) {
	if len(s.Signature) != ed25519.SignatureSize || len(s.PublicKey) != ed25519.PublicKeySize || len(s.KeyID) > 255 {
		return "", errors.New("rx: not a signed prescription")
	}
	var raw bytes.Buffer
	raw.Write(s.Signature)
	raw.Write(s.PublicKey)
	raw.WriteByte(byte(len(s.KeyID)))
	raw.WriteString(s.KeyID)
	raw.Write(s.Content)
	var z bytes.Buffer
	w, err := flate.NewWriter(&z, flate.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(raw.Bytes()); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	text := qrPrefix + base64.RawURLEncoding.EncodeToString(z.Bytes())
	if len(text) > MaxQR {
		return "", ErrTooLong
	}
	return text, nil
}

// ErrNotPrescription means a QR code's text is not a prescription's.
var ErrNotPrescription = errors.New("the QR code is not a teleconsole prescription")

// ParseQR reads a prescription QR code's text and checks its signature:
// the error is ErrNotPrescription, ErrBadSignature, or says what is
// malformed.
func ParseQR(text string) (Signed, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(text), qrPrefix)
	if !ok {
		return Signed{}, ErrNotPrescription
	}
	z, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return Signed{}, fmt.Errorf("%w: %v", ErrNotPrescription, err)
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 1<<20))
	if err != nil {
		return Signed{}, fmt.Errorf("%w: %v", ErrNotPrescription, err)
	}
	const head = ed25519.SignatureSize + ed25519.PublicKeySize + 1
	if len(raw) < head || len(raw) < head+int(raw[head-1]) {
		return Signed{}, fmt.Errorf("%w: too short", ErrNotPrescription)
	}
	sig := raw[:ed25519.SignatureSize]
	pub := ed25519.PublicKey(raw[ed25519.SignatureSize : head-1])
	n := int(raw[head-1])
	keyID := string(raw[head : head+n])
	return Open(raw[head+n:], sig, keyID, pub)
}

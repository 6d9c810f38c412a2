package uhiclient

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// GenerateKey makes a new Ed25519 key pair from rand (crypto/rand.Reader when nil).
func GenerateKey(rand io.Reader) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	return pub, priv, nil
}

// EncodePrivateKey returns the UHI form of a private key: base64 of PKCS#8 DER
// (48 bytes, docs/protocol.md §5).
func EncodePrivateKey(priv ed25519.PrivateKey) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// EncodePublicKey returns the UHI form of a public key: base64 of X.509
// SubjectPublicKeyInfo DER (44 bytes, docs/protocol.md §5).
func EncodePublicKey(pub ed25519.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// ParsePrivateKey reads a base64 PKCS#8 DER Ed25519 private key (docs/protocol.md §5).
func ParsePrivateKey(b64 string) (ed25519.PrivateKey, error) {
	der, err := decodeBase64(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: private key is not base64: %v", ErrBadKey, err)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: private key is not PKCS#8: %v", ErrBadKey, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: private key is %T, not ed25519", ErrBadKey, k)
	}
	return priv, nil
}

// ParsePublicKey reads a base64 Ed25519 public key: SPKI DER as docs/protocol.md §5
// says, or the raw 32 bytes some registries store.
func ParsePublicKey(b64 string) (ed25519.PublicKey, error) {
	der, err := decodeBase64(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: public key is not base64: %v", ErrBadKey, err)
	}
	if len(der) == ed25519.PublicKeySize {
		return ed25519.PublicKey(der), nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: public key is not SPKI: %v", ErrBadKey, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: public key is %T, not ed25519", ErrBadKey, k)
	}
	return pub, nil
}

// decodeBase64 accepts standard base64 with or without padding, and URL-safe
// base64, ignoring surrounding spaces.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.URLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawURLEncoding.DecodeString(s)
}

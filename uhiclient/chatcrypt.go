package uhiclient

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/curve25519"
)

// ChatKeySize is the length of an X25519 key, public or private.
const ChatKeySize = curve25519.ScalarSize

// chatNonceSize is the length of the AES-CTR nonce the reference apps send:
// the whole initial counter block (docs/protocol.md §7).
const chatNonceSize = aes.BlockSize

// ChatKey is an X25519 key of the chat's end-to-end encryption
// (docs/protocol.md §7). Its text form is the reference apps' own: a JSON
// array of 32 decimal integers.
type ChatKey [ChatKeySize]byte

// String writes the key as the reference apps do: "[1,2,...,32]".
func (k ChatKey) String() string {
	var b strings.Builder
	writeByteArray(&b, k[:])
	return b.String()
}

// MarshalJSON writes the key as its JSON array.
func (k ChatKey) MarshalJSON() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalJSON reads a JSON array of 32 integers, or a JSON string that
// holds one (the reference backends keep keys as such strings, with spaces:
// "[81, 143, ...]").
func (k *ChatKey) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	key, err := ParseChatKey(string(b))
	if err != nil {
		return err
	}
	*k = key
	return nil
}

// ParseChatKey reads a key in the reference apps' form, a JSON array of 32
// integers from 0 to 255.
func ParseChatKey(s string) (ChatKey, error) {
	var k ChatKey
	raw, err := parseByteArray([]byte(strings.TrimSpace(s)))
	if err != nil {
		return k, fmt.Errorf("%w: %v", ErrBadChatKey, err)
	}
	if len(raw) != ChatKeySize {
		return k, fmt.Errorf("%w: %d bytes, want %d", ErrBadChatKey, len(raw), ChatKeySize)
	}
	copy(k[:], raw)
	return k, nil
}

// ChatKeyPair is one side's X25519 key pair.
type ChatKeyPair struct {
	// Private is the secret scalar; it never leaves this machine.
	Private ChatKey
	// Public is what the other side needs to talk to this one.
	Public ChatKey
}

// NewChatKeyPair makes a key pair from 32 bytes of rand.
func NewChatKeyPair(rand io.Reader) (ChatKeyPair, error) {
	var priv ChatKey
	if _, err := io.ReadFull(rand, priv[:]); err != nil {
		return ChatKeyPair{}, fmt.Errorf("chat key: %w", err)
	}
	return ChatKeyPairFrom(priv)
}

// ChatKeyPairFrom derives the public key of a private one.
func ChatKeyPairFrom(priv ChatKey) (ChatKeyPair, error) {
	pub, err := curve25519.X25519(priv[:], curve25519.Basepoint)
	if err != nil {
		return ChatKeyPair{}, fmt.Errorf("%w: %v", ErrBadChatKey, err)
	}
	p := ChatKeyPair{Private: priv}
	copy(p.Public[:], pub)
	return p, nil
}

// ChatSecret is the key two sides share for their chat: the raw X25519
// shared secret, used without a key derivation function both as the
// AES-256-CTR key and as the HMAC-SHA256 key, as the reference apps do
// (docs/protocol.md §7).
type ChatSecret [32]byte

// SharedChatSecret is the secret of self's private key and the peer's
// public key. A peer key of low order (an all-zero result) is refused.
func SharedChatSecret(self ChatKeyPair, peer ChatKey) (ChatSecret, error) {
	var s ChatSecret
	raw, err := curve25519.X25519(self.Private[:], peer[:])
	if err != nil {
		return s, fmt.Errorf("%w: %v", ErrBadChatKey, err)
	}
	copy(s[:], raw)
	return s, nil
}

// Encrypt seals text with a fresh random nonce from rand and returns the
// content_value to send.
func (s ChatSecret) Encrypt(rand io.Reader, text string) (string, error) {
	var nonce [chatNonceSize]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return "", fmt.Errorf("chat nonce: %w", err)
	}
	return s.Seal(text, nonce), nil
}

// Seal encrypts text under nonce: AES-256-CTR with the nonce as the initial
// counter block, then HMAC-SHA256 over the ciphertext alone. A nonce must
// never be used twice with one secret; Encrypt draws a random one.
func (s ChatSecret) Seal(text string, nonce [chatNonceSize]byte) string {
	ct := make([]byte, len(text))
	s.ctr(nonce[:]).XORKeyStream(ct, []byte(text))
	var b strings.Builder
	b.WriteString(`{"cipher_text":`)
	writeByteArray(&b, ct)
	b.WriteString(`,"nonce":`)
	writeByteArray(&b, nonce[:])
	b.WriteString(`,"mac_bytes":`)
	writeByteArray(&b, s.mac(ct))
	b.WriteString(`}`)
	return b.String()
}

// Open decrypts a content_value written by Seal or by the reference apps.
// The MAC is checked before anything is decrypted: a message that fails it
// gives ErrBadMAC and no text. A value that is not an encrypted box at all
// gives ErrNotSealed (see IsSealed).
func (s ChatSecret) Open(value string) (string, error) {
	box, err := parseSealed(value)
	if err != nil {
		return "", err
	}
	if !hmac.Equal(s.mac(box.ct), box.mac) {
		return "", ErrBadMAC
	}
	pt := make([]byte, len(box.ct))
	s.ctr(box.nonce).XORKeyStream(pt, box.ct)
	return string(pt), nil
}

func (s ChatSecret) ctr(nonce []byte) cipher.Stream {
	block, err := aes.NewCipher(s[:])
	if err != nil {
		// A 32-byte key is always valid for AES-256.
		panic(err)
	}
	return cipher.NewCTR(block, nonce)
}

func (s ChatSecret) mac(ct []byte) []byte {
	m := hmac.New(sha256.New, s[:])
	m.Write(ct)
	return m.Sum(nil)
}

// IsSealed reports whether a text message's content_value is an encrypted
// box: a JSON object with a cipher_text field. Anything else is plain text,
// shown as it came, as the reference apps do (docs/protocol.md §7).
func IsSealed(value string) bool {
	v := strings.TrimSpace(value)
	if !strings.HasPrefix(v, "{") {
		return false
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal([]byte(v), &probe) != nil {
		return false
	}
	_, ok := probe["cipher_text"]
	return ok
}

type openedBox struct{ ct, nonce, mac []byte }

func parseSealed(value string) (openedBox, error) {
	var box openedBox
	if !IsSealed(value) {
		return box, ErrNotSealed
	}
	var raw struct {
		CipherText json.RawMessage `json:"cipher_text"`
		Nonce      json.RawMessage `json:"nonce"`
		MAC        json.RawMessage `json:"mac_bytes"`
	}
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return box, fmt.Errorf("%w: %v", ErrBadSealed, err)
	}
	var err error
	if box.ct, err = parseByteArray(raw.CipherText); err != nil {
		return box, fmt.Errorf("%w: cipher_text: %v", ErrBadSealed, err)
	}
	if box.nonce, err = parseByteArray(raw.Nonce); err != nil {
		return box, fmt.Errorf("%w: nonce: %v", ErrBadSealed, err)
	}
	if len(box.nonce) != chatNonceSize {
		return box, fmt.Errorf("%w: nonce of %d bytes, want %d", ErrBadSealed, len(box.nonce), chatNonceSize)
	}
	if box.mac, err = parseByteArray(raw.MAC); err != nil {
		return box, fmt.Errorf("%w: mac_bytes: %v", ErrBadSealed, err)
	}
	if len(box.mac) != sha256.Size {
		return box, fmt.Errorf("%w: mac_bytes of %d bytes, want %d", ErrBadSealed, len(box.mac), sha256.Size)
	}
	return box, nil
}

// parseByteArray reads a JSON array of integers from 0 to 255.
func parseByteArray(b []byte) ([]byte, error) {
	var ints []json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&ints); err != nil || ints == nil {
		return nil, fmt.Errorf("not a JSON array of integers")
	}
	out := make([]byte, len(ints))
	for i, n := range ints {
		v, err := strconv.Atoi(n.String())
		if err != nil || v < 0 || v > 255 {
			return nil, fmt.Errorf("element %d is %s, not a byte", i, n)
		}
		out[i] = byte(v)
	}
	return out, nil
}

// writeByteArray writes bytes as a JSON array of decimal integers, with no
// spaces, as the reference apps' jsonEncode does.
func writeByteArray(b *strings.Builder, p []byte) {
	b.WriteByte('[')
	for i, v := range p {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(v)))
	}
	b.WriteByte(']')
}

package uhiclient

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// chatKeyFile is the doctor's key pair as kept on disk.
type chatKeyFile struct {
	Private ChatKey `json:"private"`
	Public  ChatKey `json:"public"`
}

// LoadOrCreateChatKeyPair reads the doctor's chat key pair from path, or
// makes one and writes it there (0600) when the file does not exist, so
// that it is made once and the patients' apps keep one key for the doctor
// (docs/protocol.md §7).
func LoadOrCreateChatKeyPair(path string) (ChatKeyPair, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		pair, err := NewChatKeyPair(rand.Reader)
		if err != nil {
			return pair, err
		}
		out, _ := json.Marshal(chatKeyFile(pair))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreateChatKeyPair(path) // made meanwhile by another process
		}
		if err != nil {
			return pair, fmt.Errorf("chat key: %w", err)
		}
		_, werr := f.Write(append(out, '\n'))
		if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
			_ = os.Remove(path)
			return pair, fmt.Errorf("chat key: %w", err)
		}
		return pair, nil
	}
	if err != nil {
		return ChatKeyPair{}, fmt.Errorf("chat key: %w", err)
	}
	var kf chatKeyFile
	if err := json.Unmarshal(b, &kf); err != nil {
		return ChatKeyPair{}, fmt.Errorf("chat key %s: %w", path, err)
	}
	pair, err := ChatKeyPairFrom(kf.Private)
	if err != nil {
		return pair, fmt.Errorf("chat key %s: %w", path, err)
	}
	if pair.Public != kf.Public {
		return pair, fmt.Errorf("chat key %s: %w: the public key is not the private key's", path, ErrBadChatKey)
	}
	return pair, nil
}

// ChatKeys are the patients' chat public keys by address.
type ChatKeys map[string]ChatKey

// LoadChatKeys reads a key file: a JSON object of patient address to key,
// each key a JSON array of 32 integers or a string holding one, as the
// reference backends keep them ("@abdm/gov.in/patient_key" of a booking's
// confirm, docs/protocol.md §7). Addresses are matched without regard to case.
func LoadChatKeys(path string) (ChatKeys, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chat keys: %w", err)
	}
	var raw map[string]ChatKey
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("chat keys %s: %w", path, err)
	}
	keys := make(ChatKeys, len(raw))
	for addr, k := range raw {
		keys[strings.ToLower(strings.TrimSpace(addr))] = k
	}
	return keys, nil
}

// Lookup returns the key of the patient at addr.
func (k ChatKeys) Lookup(addr string) (ChatKey, bool) {
	key, ok := k[strings.ToLower(strings.TrimSpace(addr))]
	return key, ok
}

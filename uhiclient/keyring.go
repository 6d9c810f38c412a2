package uhiclient

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Keyring is a fixed set of public keys by keyId, read once and kept parsed
// (docs/protocol.md §5: "from a local keyring").
//
// The file format is one JSON object mapping keyId to the base64 SPKI public
// key (raw 32-byte keys are accepted too):
//
//	{
//	  "eua-nha|key-1|ed25519": "MCowBQYDK2VwAyEA9AwjtMBySgjkf3cx2pzAYt8pL1qAlhil3WUulCSpFnI=",
//	  "eua-nha|key-2|ed25519": "MCowBQYDK2VwAyEA..."
//	}
//
// The "|ed25519" suffix may be left out of the file's keys.
type Keyring struct {
	keys   map[string]ed25519.PublicKey // by "subscriber|ukid"
	source string
}

// NewKeyring parses entries (keyId -> base64 public key).
func NewKeyring(entries map[string]string) (*Keyring, error) {
	k := &Keyring{keys: make(map[string]ed25519.PublicKey, len(entries)), source: "memory"}
	for id, b64 := range entries {
		norm, err := normalKeyID(id)
		if err != nil {
			return nil, fmt.Errorf("keyring entry %q: %w", id, err)
		}
		pub, err := ParsePublicKey(b64)
		if err != nil {
			return nil, fmt.Errorf("keyring entry %q: %w", id, err)
		}
		k.keys[norm] = pub
	}
	return k, nil
}

// LoadKeyring reads a keyring file (see Keyring for the format).
func LoadKeyring(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load keyring: %w", err)
	}
	var entries map[string]string
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("load keyring %s: want a JSON object of keyId to base64 key: %w", path, err)
	}
	k, err := NewKeyring(entries)
	if err != nil {
		return nil, fmt.Errorf("load keyring %s: %w", path, err)
	}
	k.source = path
	return k, nil
}

// PublicKeys implements KeySource.
func (k *Keyring) PublicKeys(_ context.Context, keyID string) ([]ed25519.PublicKey, error) {
	norm, err := normalKeyID(keyID)
	if err != nil {
		return nil, err
	}
	pub, ok := k.keys[norm]
	if !ok {
		return nil, fmt.Errorf("%w: %s not in keyring", ErrUnknownKey, keyID)
	}
	return []ed25519.PublicKey{pub}, nil
}

// KeyIDs lists the keyring's keys as "subscriber|ukid|ed25519", sorted.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id+"|"+AlgorithmEd25519)
	}
	sort.Strings(ids)
	return ids
}

// String describes the keyring: "keyring <file> (N keys)".
func (k *Keyring) String() string {
	return fmt.Sprintf("keyring %s (%d keys)", k.source, len(k.keys))
}

func normalKeyID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if strings.Count(id, "|") == 1 {
		id += "|" + AlgorithmEd25519
	}
	sub, ukid, err := ParseKeyID(id)
	if err != nil {
		return "", err
	}
	return sub + "|" + ukid, nil
}

package uhiclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func writeKeyring(t *testing.T, entries map[string]string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keyring.json")
	b, _ := json.Marshal(entries)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKeyring(t *testing.T) {
	p := writeKeyring(t, map[string]string{"eua-nha|key-1|ed25519": tvPublic, "other|k2": tvPublic})
	k, err := LoadKeyring(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.String(); got != "keyring "+p+" (2 keys)" {
		t.Errorf("String() = %q", got)
	}
	if ids := k.KeyIDs(); strings.Join(ids, ",") != "eua-nha|key-1|ed25519,other|k2|ed25519" {
		t.Errorf("KeyIDs = %v", ids)
	}
	keys, err := k.PublicKeys(context.Background(), "eua-nha|key-1|ed25519")
	if err != nil || len(keys) != 1 {
		t.Fatalf("lookup: %v", err)
	}
	if _, err := k.PublicKeys(context.Background(), "eua-nha|key-9|ed25519"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown: %v", err)
	}
	if _, err := LoadKeyring(writeKeyring(t, map[string]string{"a|b|ed25519": "nope"})); !errors.Is(err, ErrBadKey) {
		t.Errorf("bad key in file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "x.json")
	_ = os.WriteFile(bad, []byte(`["a"]`), 0o600)
	if _, err := LoadKeyring(bad); err == nil {
		t.Error("array keyring accepted")
	}
}

// signedRequest makes headers for body signed at created by the vector key.
func signedHeader(t testing.TB, body []byte, keyID string, created time.Time) http.Header {
	t.Helper()
	_, priv := testKey(t)
	sub, ukid, err := ParseKeyID(keyID)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(priv, sub, ukid)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Authorization", s.SignAt(body, created).String())
	return h
}

func TestSignatureVerifier(t *testing.T) {
	now := time.Unix(1700000000, 0)
	kr, err := NewKeyring(map[string]string{"eua-nha|k1|ed25519": tvPublic})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewSignatureVerifier(kr, WithVerifierClock(func() time.Time { return now }), WithClockSkew(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(v.String(), "ed25519") || !strings.Contains(v.String(), "keyring memory (1 keys)") {
		t.Errorf("String() = %q", v.String())
	}
	if NoVerification().String() != "off (requests are not authenticated)" {
		t.Error(NoVerification().String())
	}
	body := answerBody(t)
	ctx := context.Background()

	h := signedHeader(t, body, "eua-nha|k1|ed25519", now)
	if id, err := v.Verify(ctx, h, body); err != nil || id != "eua-nha|k1|ed25519" {
		t.Fatalf("good: %q %v", id, err)
	}
	h.Set("Digest", DigestHeaderPrefix+Digest(body))
	if _, err := v.Verify(ctx, h, body); err != nil {
		t.Fatalf("good with digest: %v", err)
	}
	tampered := append([]byte(nil), body...)
	tampered[100] ^= 1
	if _, err := v.Verify(ctx, h, tampered); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("tampered with digest header: %v", err)
	}
	h.Del("Digest")
	if _, err := v.Verify(ctx, h, tampered); !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := v.Verify(ctx, http.Header{}, body); !errors.Is(err, ErrMissingSignature) {
		t.Errorf("missing: %v", err)
	}
	if _, err := v.Verify(ctx, signedHeader(t, body, "eua-nha|k1|ed25519", now.Add(-20*time.Second)), body); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}
	if _, err := v.Verify(ctx, signedHeader(t, body, "eua-nha|k1|ed25519", now.Add(time.Minute)), body); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("future: %v", err)
	}
	if _, err := v.Verify(ctx, signedHeader(t, body, "eua-nha|k2|ed25519", now), body); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
	bad := http.Header{}
	bad.Set("Authorization", "bearer abc")
	if _, err := v.Verify(ctx, bad, body); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("bearer: %v", err)
	}
}

// fakeRegistry serves /lookup and counts calls.
type fakeRegistry struct {
	calls atomic.Int32
	reply func(req lookupRequest) (int, string)
	mu    sync.Mutex
	last  lookupRequest
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/registry/lookup" {
		http.Error(w, "wrong", http.StatusBadRequest)
		return
	}
	var req lookupRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.last = req
	f.mu.Unlock()
	status, body := f.reply(req)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func TestRegistryLookupCached(t *testing.T) {
	fr := &fakeRegistry{reply: func(req lookupRequest) (int, string) {
		if req.SubscriberID != "eua-nha" || req.PubKeyID != "k1" {
			return 200, `[]`
		}
		// The reference puts the signing key in encr_public_key; a second
		// record for another key id must be ignored.
		return 200, `[{"subscriber_id":"eua-nha","ukId":"k1","encr_public_key":"` + tvPublic + `","status":"SUBSCRIBED"},
		              {"subscriber_id":"eua-nha","ukId":"k9","signing_public_key":"MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="}]`
	}}
	srv := httptest.NewServer(fr)
	defer srv.Close()
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	reg, err := NewRegistry(srv.URL+"/registry/", WithRegistryClock(clock), WithRegistryTTL(time.Minute, 10*time.Second),
		WithLookupScope(LookupScope{Type: "EUA"}))
	if err != nil {
		t.Fatal(err)
	}
	if reg.String() != "registry "+srv.URL+"/registry/lookup" {
		t.Errorf("String() = %q", reg.String())
	}
	v, err := NewSignatureVerifier(reg, WithVerifierClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	body := answerBody(t)
	ctx := context.Background()
	for i := range 3 {
		if _, err := v.Verify(ctx, signedHeader(t, body, "eua-nha|k1|ed25519", now), body); err != nil {
			t.Fatalf("verify %d: %v", i, err)
		}
	}
	if n := fr.calls.Load(); n != 1 {
		t.Fatalf("registry hit %d times, want 1 (cached)", n)
	}
	fr.mu.Lock()
	want := lookupRequest{SubscriberID: "eua-nha", PubKeyID: "k1", Type: "EUA", Domain: "nic2004:85111", Country: "IND", City: "std:080"}
	if fr.last != want {
		t.Errorf("lookup request %+v", fr.last)
	}
	fr.mu.Unlock()

	// Unknown keys are cached for the shorter TTL.
	for range 2 {
		if _, err := v.Verify(ctx, signedHeader(t, body, "eua-nha|k2|ed25519", now), body); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("unknown: %v", err)
		}
	}
	if n := fr.calls.Load(); n != 2 {
		t.Fatalf("registry hit %d times, want 2", n)
	}
	// After the TTL the key is fetched again.
	now = now.Add(2 * time.Minute)
	if _, err := v.Verify(ctx, signedHeader(t, body, "eua-nha|k1|ed25519", now), body); err != nil {
		t.Fatal(err)
	}
	if n := fr.calls.Load(); n != 3 {
		t.Fatalf("registry hit %d times after expiry, want 3", n)
	}
}

func TestRegistryFailures(t *testing.T) {
	var status atomic.Int32
	status.Store(500)
	fr := &fakeRegistry{reply: func(lookupRequest) (int, string) {
		return int(status.Load()), `[{"signing_public_key":"` + tvPublic + `"}]`
	}}
	srv := httptest.NewServer(fr)
	defer srv.Close()
	reg, err := NewRegistry(srv.URL + "/registry")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = reg.PublicKeys(ctx, "a|b|ed25519")
	if !errors.Is(err, ErrLookup) || IsAuthError(err) {
		t.Fatalf("500: %v", err)
	}
	status.Store(404)
	if _, err := reg.PublicKeys(ctx, "a|b|ed25519"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("404 after a failure must ask again: %v", err)
	}
	status.Store(200)
	if _, err := reg.PublicKeys(ctx, "c|d|ed25519"); err != nil {
		t.Fatalf("200: %v", err)
	}
	srv.Close()
	if _, err := reg.PublicKeys(ctx, "e|f|ed25519"); !errors.Is(err, ErrLookup) {
		t.Fatalf("down: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := reg.PublicKeys(cctx, "g|h|ed25519"); !errors.Is(err, ErrLookup) {
		t.Fatalf("cancelled: %v", err)
	}
}

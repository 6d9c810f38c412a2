package uhiclient

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"teleconsole/internal/euatest"
)

// The test patient app and gateway (internal/euatest) sign and verify with
// their own code, written from docs/protocol.md §5; these tests hold the two
// implementations to each other, both ways, and the fake registry to the
// shape Registry reads.

func TestIndependentSignerAgrees(t *testing.T) {
	k, err := euatest.NewKey("eua-nha", "eua-k1")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"context":{"action":"search","transaction_id":"t1"},"message":{"intent":{}}}`)
	pub, err := ParsePublicKey(k.PublicBase64())
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseAuthorization(k.Sign(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(pub, body); err != nil {
		t.Fatalf("the console refuses the independent signature: %v", err)
	}
	if err := a.Verify(pub, append(append([]byte(nil), body...), ' ')); err == nil {
		t.Fatal("the console accepts the independent signature over other bytes")
	}
	priv, err := ParsePrivateKey(k.PrivateBase64())
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(priv, "hspa-nha", "hspa-k1")
	if err != nil {
		t.Fatal(err)
	}
	if err := euatest.Verify(s.Sign(body), body, priv.Public().(ed25519.PublicKey), time.Now()); err != nil {
		t.Fatalf("the independent verifier refuses the console's signature: %v", err)
	}
}

func TestRegistryReadsTheFakeGateway(t *testing.T) {
	gw := euatest.NewGateway(t)
	k, err := euatest.NewKey("eua-nha", "eua-k1")
	if err != nil {
		t.Fatal(err)
	}
	gw.RegisterKey(k)
	r, err := NewRegistry(gw.RegistryURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	keys, err := r.PublicKeys(ctx, k.KeyID())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range keys {
		found = found || p.Equal(k.Public())
	}
	if !found {
		t.Fatalf("registry keys %v, want the EUA's", keys)
	}
	if _, err := r.PublicKeys(ctx, "eua-nha|unknown|ed25519"); err == nil {
		t.Fatal("an unknown key was found")
	}
}

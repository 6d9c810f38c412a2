package euatest

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The known vector of the reference signing document, as
// uhiclient/signer_test.go (TestContractTestVector) holds it: a key, a
// window, a body's digest, the hashed signing string and the signature.
const (
	tvPrivate   = "MC4CAQAwBQYDK2VwBCIEIGCioWvsJleY53bW5+8G9vWWqsdGA9y1JMoVvLslaFA7"
	tvPublic    = "MCowBQYDK2VwAyEA9AwjtMBySgjkf3cx2pzAYt8pL1qAlhil3WUulCSpFnI="
	tvCreated   = 1679652050
	tvExpires   = 1679652060
	tvDigest    = "W9UFzCRHgPpPoJxDFuGIz9bWqOjpc6f+Tv32bN1X3qSesscMXhUSdMyGsloAgn8+wo95otF2FQDz+YOBVz2hqA=="
	tvToSign    = "VRJEzcg4AStRZEDAdI2nlR6WwNPYQWPuFmDQQnFk0Wy9gTCI5vm9qPSq3g1BlJ20A7lsbmV+f4dljvei5DVzLA=="
	tvSignature = "EfImhDOjl1SiwwUYKHSmz52u/FYZSggS5B177WaxvQg5OApvCk/OQW/n0nsSdRdm7KM8cXm/T77pdF7jI5G3Bw=="
)

func TestSignerMatchesKnownVector(t *testing.T) {
	priv, err := ParsePrivate(tvPrivate)
	if err != nil {
		t.Fatal(err)
	}
	k := Key{SubscriberID: "eua-nha", UniqueKeyID: "k1", Private: priv}
	if got := k.PublicBase64(); got != tvPublic {
		t.Fatalf("public key %s, want %s", got, tvPublic)
	}
	if got := k.PrivateBase64(); got != tvPrivate {
		t.Fatalf("private key %s, want %s", got, tvPrivate)
	}
	s := SigningString(tvCreated, tvExpires, tvDigest)
	if want := "(created): 1679652050 (expires): 1679652060 digest: BLAKE-512=" + tvDigest; s != want {
		t.Fatalf("signing string\n got %q\nwant %q", s, want)
	}
	if got := ToSign(s); got != tvToSign {
		t.Fatalf("toSign %s, want %s", got, tvToSign)
	}
	if got := SignDigest(priv, tvCreated, tvExpires, tvDigest); got != tvSignature {
		t.Fatalf("signature %s, want %s", got, tvSignature)
	}
	pub, err := ParsePublic(tvPublic)
	if err != nil || !pub.Equal(k.Public()) {
		t.Fatalf("ParsePublic: %v", err)
	}
}

func TestSignVerify(t *testing.T) {
	priv, err := ParsePrivate(tvPrivate)
	if err != nil {
		t.Fatal(err)
	}
	k := Key{SubscriberID: "eua-nha", UniqueKeyID: "k1", Private: priv}
	body := []byte(`{"context":{"action":"search"},"message":{}}`)
	h := k.SignWindow(body, tvCreated, tvExpires)
	if !strings.HasPrefix(h, `{"keyId":"eua-nha|k1|ed25519","algorithm":"ed25519","created":"1679652050","expires":"1679652060","headers":"(created) (expires) digest","signature":"`) {
		t.Fatalf("header %s", h)
	}
	if HeaderKeyID(h) != "eua-nha|k1|ed25519" {
		t.Fatalf("keyId %q", HeaderKeyID(h))
	}
	at := time.Unix(tvCreated+5, 0)
	if err := Verify(h, body, k.Public(), at); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	other, err := NewKey("eua-nha", "k1")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"no header", "", body, at, ErrNoHeader},
		{"not json", "Signature keyId=x", body, at, ErrBadHeader},
		{"other body", h, append(append([]byte(nil), body...), ' '), at, ErrBadSignature},
		{"other key", other.SignWindow(body, tvCreated, tvExpires), body, at, ErrBadSignature},
		{"an hour late", h, body, at.Add(time.Hour), ErrExpired},
		{"an hour early", h, body, at.Add(-time.Hour), ErrExpired},
		{"other algorithm", strings.Replace(h, `"ed25519","created"`, `"rsa","created"`, 1), body, at, ErrBadHeader},
	}
	for _, c := range cases {
		if err := Verify(c.header, c.body, k.Public(), c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

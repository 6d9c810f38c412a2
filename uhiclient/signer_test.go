package uhiclient

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

// The test vector of docs/protocol.md §5.
const (
	tvPrivate   = "MC4CAQAwBQYDK2VwBCIEIGCioWvsJleY53bW5+8G9vWWqsdGA9y1JMoVvLslaFA7"
	tvPublic    = "MCowBQYDK2VwAyEA9AwjtMBySgjkf3cx2pzAYt8pL1qAlhil3WUulCSpFnI="
	tvCreated   = 1679652050
	tvExpires   = 1679652060
	tvDigest    = "W9UFzCRHgPpPoJxDFuGIz9bWqOjpc6f+Tv32bN1X3qSesscMXhUSdMyGsloAgn8+wo95otF2FQDz+YOBVz2hqA=="
	tvToSign    = "VRJEzcg4AStRZEDAdI2nlR6WwNPYQWPuFmDQQnFk0Wy9gTCI5vm9qPSq3g1BlJ20A7lsbmV+f4dljvei5DVzLA=="
	tvSignature = "EfImhDOjl1SiwwUYKHSmz52u/FYZSggS5B177WaxvQg5OApvCk/OQW/n0nsSdRdm7KM8cXm/T77pdF7jI5G3Bw=="
)

func TestContractTestVector(t *testing.T) {
	priv, err := ParsePrivateKey(tvPrivate)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(tvPublic)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("public key of the vector does not match its private key")
	}
	signing := SigningString(tvCreated, tvExpires, tvDigest)
	if want := "(created): 1679652050 (expires): 1679652060 digest: BLAKE-512=" + tvDigest; signing != want {
		t.Fatalf("signing string\n got %q\nwant %q", signing, want)
	}
	if got := string(ToSign(signing)); got != tvToSign {
		t.Fatalf("toSign = %s, want %s", got, tvToSign)
	}
	sig := SignDigest(priv, tvCreated, tvExpires, tvDigest)
	if got := base64.StdEncoding.EncodeToString(sig); got != tvSignature {
		t.Fatalf("signature = %s, want %s", got, tvSignature)
	}
	hdr := `{"keyId":"hspa-nha|k1|ed25519","algorithm":"ed25519","created":"1679652050","expires":"1679652060","headers":"(created) (expires) digest","signature":"` + tvSignature + `"}`
	a, err := ParseAuthorization(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.VerifyDigest(pub, tvDigest); err != nil {
		t.Fatalf("vector does not verify: %v", err)
	}
	// One bit off in the digest must fail.
	bad := []byte(tvDigest)
	bad[0] ^= 1
	if err := a.VerifyDigest(pub, string(bad)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered digest: err = %v, want ErrBadSignature", err)
	}
	if got := a.String(); got != hdr {
		t.Fatalf("String()\n got %s\nwant %s", got, hdr)
	}
	_ = ed25519.PublicKeySize
	_ = strings.TrimSpace
	_ = time.Second
}

func testKey(t testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	priv, err := ParsePrivateKey(tvPrivate)
	if err != nil {
		t.Fatal(err)
	}
	return priv.Public().(ed25519.PublicKey), priv
}

func TestKeyEncodingRoundTrip(t *testing.T) {
	pub, priv, err := GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := EncodePrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	pubs, err := EncodePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := base64.StdEncoding.DecodeString(ps); len(d) != 48 {
		t.Errorf("PKCS#8 is %d bytes, want 48", len(d))
	}
	if d, _ := base64.StdEncoding.DecodeString(pubs); len(d) != 44 {
		t.Errorf("SPKI is %d bytes, want 44", len(d))
	}
	priv2, err := ParsePrivateKey(ps)
	if err != nil || !priv2.Equal(priv) {
		t.Fatalf("private round trip: %v", err)
	}
	pub2, err := ParsePublicKey(pubs)
	if err != nil || !pub2.Equal(pub) {
		t.Fatalf("public round trip: %v", err)
	}
	raw, err := ParsePublicKey(base64.StdEncoding.EncodeToString(pub))
	if err != nil || !raw.Equal(pub) {
		t.Fatalf("raw 32-byte key: %v", err)
	}
	for _, bad := range []string{"", "!!!", base64.StdEncoding.EncodeToString([]byte("hello world"))} {
		if _, err := ParsePrivateKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("private %q: %v", bad, err)
		}
		if _, err := ParsePublicKey(bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("public %q: %v", bad, err)
		}
	}
	// The test vector's public key is not a private key and vice versa.
	if _, err := ParsePrivateKey(tvPublic); !errors.Is(err, ErrBadKey) {
		t.Errorf("public as private: %v", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	pub, priv := testKey(t)
	now := time.Unix(1700000000, 0)
	s, err := NewSigner(priv, "hspa-nha", "k1", WithSignerClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	body := offerBody(t)
	hdr := s.Sign(body)
	if !strings.HasPrefix(hdr, `{"keyId":"hspa-nha|k1|ed25519","algorithm":"ed25519","created":"1700000000","expires":"1700000010","headers":"(created) (expires) digest","signature":"`) {
		t.Fatalf("header = %s", hdr)
	}
	a, err := ParseAuthorization(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Verify(pub, body); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := a.CheckWindow(now.Add(5*time.Second), 0, time.Hour); err != nil {
		t.Fatalf("window: %v", err)
	}
	tampered := append([]byte{}, body...)
	tampered[len(tampered)-3] ^= 0x20
	if err := a.Verify(pub, tampered); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	other, _, _ := GenerateKey(nil)
	if err := a.Verify(other, body); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("other key: %v", err)
	}
}

func TestCheckWindow(t *testing.T) {
	a := &Authorization{Created: 1000, Expires: 1010}
	skew := 5 * time.Second
	cases := []struct {
		now  int64
		want error
	}{
		{994, ErrNotYetValid}, {995, nil}, {1000, nil}, {1015, nil}, {1016, ErrExpired}, {5000, ErrExpired},
	}
	for _, c := range cases {
		err := a.CheckWindow(time.Unix(c.now, 0), skew, time.Hour)
		if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("now %d: err %v, want %v", c.now, err, c.want)
		}
	}
	long := &Authorization{Created: 1000, Expires: 1000 + 7200}
	if err := long.CheckWindow(time.Unix(1001, 0), skew, time.Hour); !errors.Is(err, ErrMalformedHeader) {
		t.Errorf("2h window: %v", err)
	}
}

func TestParseAuthorizationRejects(t *testing.T) {
	good := map[string]any{"keyId": "s|k|ed25519", "algorithm": "ed25519", "created": "1679652050", "expires": "1679652060",
		"headers": "(created) (expires) digest", "signature": tvSignature}
	with := func(k string, v any) string {
		m := map[string]any{}
		for kk, vv := range good {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return mustJSON(m)
	}
	cases := []struct {
		name, value string
		want        error
	}{
		{"empty", "", ErrMissingSignature},
		{"Signature prefix garbage", "Signature abc", ErrMalformedHeader},
		{"not JSON", "hello", ErrMalformedHeader},
		{"broken JSON", `{"keyId":`, ErrMalformedHeader},
		{"no keyId", with("keyId", nil), ErrMalformedHeader},
		{"keyId two parts", with("keyId", "s|ed25519"), ErrMalformedHeader},
		{"keyId empty subscriber", with("keyId", "|k|ed25519"), ErrMalformedHeader},
		{"keyId rsa", with("keyId", "s|k|rsa"), ErrMalformedHeader},
		{"keyId invalid UTF-8", "Signature keyId=\"s\xf4|k|ed25519\",created=\"1\",expires=\"2\",signature=\"" + tvSignature + "\"", ErrMalformedHeader},
		{"keyId control character", with("keyId", "s\n1|k|ed25519"), ErrMalformedHeader},
		{"algorithm rsa", with("algorithm", "rsa-sha256"), ErrMalformedHeader},
		{"created missing", with("created", nil), ErrMalformedHeader},
		{"created text", with("created", "yesterday"), ErrMalformedHeader},
		{"created negative", with("created", "-5"), ErrMalformedHeader},
		{"expires before created", with("expires", "1679652000"), ErrMalformedHeader},
		{"expires an object", with("expires", map[string]any{}), ErrMalformedHeader},
		{"other headers", with("headers", "(created) digest"), ErrMalformedHeader},
		{"no signature", with("signature", nil), ErrMalformedHeader},
		{"signature not base64", with("signature", "***"), ErrMalformedHeader},
		{"signature short", with("signature", base64.StdEncoding.EncodeToString(make([]byte, 63))), ErrMalformedHeader},
	}
	for _, c := range cases {
		if _, err := ParseAuthorization(c.value); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	// Tolerated: numbers for created/expires, missing algorithm and headers,
	// and the Beckn "Signature k=v" form.
	for _, ok := range []string{
		with("created", 1679652050),
		with("algorithm", nil),
		with("headers", nil),
		`Signature keyId="s|k|ed25519",algorithm="ed25519",created="1679652050",expires="1679652060",headers="(created) (expires) digest",signature="` + tvSignature + `"`,
	} {
		a, err := ParseAuthorization(ok)
		if err != nil {
			t.Errorf("%s: %v", ok, err)
			continue
		}
		if a.SubscriberID != "s" || a.UniqueKeyID != "k" || a.Created != 1679652050 || a.Expires != 1679652060 || len(a.Signature) != 64 {
			t.Errorf("%s: parsed %+v", ok, a)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(`{"keyId":"hspa-nha|k1|ed25519","algorithm":"ed25519","created":"1679652050","expires":"1679652060","headers":"(created) (expires) digest","signature":"` + tvSignature + `"}`)
	f.Add(`Signature keyId="s|k|ed25519",algorithm="ed25519",created="1679652050",expires="1679652060",headers="(created) (expires) digest",signature="` + tvSignature + `"`)
	f.Add(`{"keyId":"a|b|c|ed25519","created":1,"expires":2,"signature":"AAAA"}`)
	f.Add(`bearer abc.def`)
	f.Add(`{}`)
	pub, _ := ParsePublicKey(tvPublic)
	f.Fuzz(func(t *testing.T, value string) {
		a, err := ParseAuthorization(value)
		if err != nil {
			if !errors.Is(err, ErrMalformedHeader) && !errors.Is(err, ErrMissingSignature) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if a.SubscriberID == "" || a.UniqueKeyID == "" || a.Algorithm != AlgorithmEd25519 || a.Headers != SignedHeaders ||
			len(a.Signature) != ed25519.SignatureSize || a.Expires < a.Created || a.Created <= 0 {
			t.Fatalf("accepted an inconsistent header: %+v", a)
		}
		// What we parse, we can write and parse back unchanged.
		b, err := ParseAuthorization(a.String())
		if err != nil {
			t.Fatalf("re-parse %s: %v", a.String(), err)
		}
		if b.String() != a.String() {
			t.Fatalf("round trip changed %s into %s", a.String(), b.String())
		}
		_ = a.VerifyDigest(pub, tvDigest) // must not panic
	})
}

package uhiclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// TestClientSendsBookingCallbacks: a callback goes to consumer_uri + "/" +
// its action, signed; its audit copy to the gateway's on_*_audit, the same
// bytes; a 5xx is retried and a 4xx returned as *NackError.
func TestClientSendsBookingCallbacks(t *testing.T) {
	now := time.Now
	k := newBookingKeys(t, now)
	v, _ := NewSignatureVerifier(k.euaRing)
	type hit struct {
		path, keyID string
		body        []byte
	}
	var mu sync.Mutex
	var hits []hit
	fail := map[string]int{"/api/v1/uhi/on_confirm_audit": 1} // one 503 first
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		keyID, err := v.Verify(r.Context(), r.Header, body)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if fail[r.URL.Path] > 0 {
			fail[r.URL.Path]--
			w.Header().Set("Retry-After", "0")
			writeNack(w, 503, ErrorBody{Type: TypeCore, Code: CodeUnavailable, Message: "busy"})
			return
		}
		if r.URL.Path == "/eua/on_status" {
			writeNack(w, 400, ErrorBody{Type: TypeSchema, Code: CodeInvalidJSON, Path: "message.order", Message: "no"})
			return
		}
		hits = append(hits, hit{r.URL.Path, keyID, body})
		writeAck(w)
	}))
	defer hs.Close()
	c := fastClient(t, WithSigner(k.eua))
	b := testBookingBuilder(t)
	conf := decodeGolden(t, "confirm_physical.json", ActionConfirm)
	cb := b.OnConfirm(conf, Confirmation{State: StateConfirmed})
	ctx := context.Background()
	if err := c.SendBooking(ctx, hs.URL+"/eua/", cb); err != nil {
		t.Fatal(err)
	}
	body, _ := MarshalBooking(cb)
	if err := c.PostAction(ctx, hs.URL+"/api/v1/uhi", AuditAction(cb.Context.Action), body); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(hits) != 2 || hits[0].path != "/eua/on_confirm" || hits[1].path != "/api/v1/uhi/on_confirm_audit" ||
		string(hits[0].body) != string(hits[1].body) || hits[0].keyID != "eua-nha|k1|ed25519" {
		t.Errorf("hits: %+v", hits)
	}
	mu.Unlock()
	err := c.SendBooking(ctx, hs.URL+"/eua", b.OnStatus(conf.Context, conf.Message.Order))
	var nack *NackError
	if !errors.As(err, &nack) || nack.HTTPStatus != 400 || nack.Path != "message.order" {
		t.Errorf("on_status refused: %v", err)
	}
	if err := c.SendBooking(ctx, hs.URL, &BookingEnvelope{}); !errors.Is(err, ErrBadOption) {
		t.Errorf("no action: %v", err)
	}
	if err := c.PostAction(ctx, hs.URL, " ", body); !errors.Is(err, ErrBadOption) {
		t.Errorf("empty action: %v", err)
	}
}

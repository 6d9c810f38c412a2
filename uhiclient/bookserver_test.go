package uhiclient

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// bookingKeys is an EUA key and a gateway key, each in its own keyring.
type bookingKeys struct {
	eua, gw           *Signer
	euaRing, gatewayR *Keyring
}

func newBookingKeys(t *testing.T, now func() time.Time) bookingKeys {
	t.Helper()
	mk := func(sub string) (*Signer, *Keyring) {
		pub, priv, err := GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewSigner(priv, sub, "k1", WithSignerClock(now))
		if err != nil {
			t.Fatal(err)
		}
		enc, _ := EncodePublicKey(pub)
		kr, err := NewKeyring(map[string]string{sub + "|k1": enc})
		if err != nil {
			t.Fatal(err)
		}
		return s, kr
	}
	var k bookingKeys
	k.eua, k.euaRing = mk("eua-nha")
	k.gw, k.gatewayR = mk("gateway-nha")
	return k
}

// signedBy signs body with s in the header name.
func signedBy(s *Signer, name string, body []byte) http.Header {
	h := http.Header{}
	h.Set(name, s.Sign(body))
	return h
}

func startBookingServer(t *testing.T, handle BookingHandler, opts ...BookingOption) (*BookingServer, string) {
	t.Helper()
	s, err := NewBookingServer(handle, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); cancel(); <-done })
	return s, hs.URL + "/api/v1/"
}

func TestBookingServerNacks(t *testing.T) {
	now := time.Now
	k := newBookingKeys(t, now)
	v, _ := NewSignatureVerifier(k.euaRing)
	gv, err := NewSignatureVerifier(k.gatewayR, WithSignatureHeader(GatewayAuthorizationHeader))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(gv.String(), GatewayAuthorizationHeader) {
		t.Errorf("gateway verifier says %q", gv.String())
	}
	got := make(chan *BookingRequest, 16)
	s, base := startBookingServer(t, func(_ context.Context, r *BookingRequest) { got <- r },
		WithBookingVerifier(v), WithGatewayVerifier(gv), WithBookingMaxBody(8<<10))

	search := readGolden(t, "search_physical.json")
	initBody := readGolden(t, "init_physical.json")
	// A patient app's key signing as the gateway is a forgery of the gateway's signature.
	forgedGW := signedBy(k.eua, "Authorization", search)
	forgedGW.Set(GatewayAuthorizationHeader, strings.Replace(k.eua.Sign(search), "eua-nha", "gateway-nha", 1))
	garbageGW := signedBy(k.eua, "Authorization", search)
	garbageGW.Set(GatewayAuthorizationHeader, "not a signature")
	otherBody := signedBy(k.eua, "Authorization", readGolden(t, "init_tele.json"))
	badTime := patch(t, initBody, func(m map[string]any) {
		at(m, "message.order.fulfillment.start.time")["timestamp"] = "half past ten"
	})
	noOrderID := readGolden(t, "status_tele.json")
	noOrderID = patch(t, noOrderID, func(m map[string]any) { delete(at(m, "message.order"), "id") })

	cases := []struct {
		name, path string
		body       []byte
		h          http.Header
		status     int
		code, at   string
	}{
		{"unsigned", "init", initBody, nil, 401, CodeAuthMissing, "Authorization"},
		{"signed by an unknown key", "init", initBody, signedBy(k.gw, "Authorization", initBody), 401, CodeHeaderFailed, "Authorization"},
		{"forged: signature of another body", "init", initBody, otherBody, 401, CodeInvalidSignature, "Authorization"},
		{"gateway header forged", "search", search, forgedGW, 401, CodeInvalidSignature, GatewayAuthorizationHeader},
		{"gateway header garbage", "search", search, garbageGW, 401, CodeHeaderFailed, GatewayAuthorizationHeader},
		{"malformed JSON", "init", []byte(`{"context":`), signedBy(k.eua, "Authorization", []byte(`{"context":`)), 400, CodeInvalidJSON, "body"},
		{"bad slot time", "init", badTime, signedBy(k.eua, "Authorization", badTime), 400, CodeInvalidJSON, "message.order.fulfillment.start.time.timestamp"},
		{"status without order id", "status", noOrderID, signedBy(k.eua, "Authorization", noOrderID), 400, CodeInvalidJSON, "message.order.id"},
		{"init posted to confirm", "confirm", initBody, signedBy(k.eua, "Authorization", initBody), 400, CodeInvalidJSON, "context.action"},
		{"too large", "init", []byte(strings.Repeat(" ", 9<<10)), nil, 413, CodeTooLarge, "body"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, reply, _ := post(t, base+c.path, c.body, c.h)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, reply)
			}
			e := nack(t, reply)
			eq(t, "code", e.Code, c.code)
			eq(t, "path", e.Path, c.at)
		})
	}
	req, _ := http.NewRequest(http.MethodGet, base+"init", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	select {
	case r := <-got:
		t.Fatalf("a refused request was handled: %+v", r)
	default:
	}
	// ServeHTTP mounted on a path that is no booking endpoint.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/select", strings.NewReader(string(initBody))))
	if rec.Code != 404 || nack(t, rec.Body.String()).Path != "path" {
		t.Errorf("unknown endpoint: %d %s", rec.Code, rec.Body)
	}
	eq(t, "rejected", s.Stats().Rejected, uint64(len(cases)+2))

	// The same search, properly signed by both, is the gateway's; without
	// the gateway's header it is the patient app's own.
	both := signedBy(k.eua, "Authorization", search)
	both.Set(GatewayAuthorizationHeader, k.gw.Sign(search))
	if status, reply, _ := post(t, base+"search", search, both); status != 200 || reply != wantACK {
		t.Fatalf("gateway search: %d %s", status, reply)
	}
	r := recvBooking(t, got)
	if !r.ViaGateway || r.GatewayKeyID != "gateway-nha|k1|ed25519" || r.KeyID != "eua-nha|k1|ed25519" || r.Action != ActionSearch {
		t.Errorf("gateway search delivered as %+v", r)
	}
	direct := readGolden(t, "search_slots_tele.json")
	if status, reply, _ := post(t, base+"search", direct, signedBy(k.eua, "Authorization", direct)); status != 200 {
		t.Fatalf("direct search: %d %s", status, reply)
	}
	r = recvBooking(t, got)
	if r.ViaGateway || r.GatewayKeyID != "" || r.Envelope.Message.Intent.Fulfillment.Agent.ID != "rao@hpr.ndhm" {
		t.Errorf("direct search delivered as %+v", r)
	}
	// The gateway's header on another endpoint means nothing.
	gwInit := signedBy(k.eua, "Authorization", initBody)
	gwInit.Set(GatewayAuthorizationHeader, "garbage")
	if status, reply, _ := post(t, base+"init", initBody, gwInit); status != 200 {
		t.Fatalf("init with a stray gateway header: %d %s", status, reply)
	}
	if r := recvBooking(t, got); r.ViaGateway || r.Action != ActionInit {
		t.Errorf("init delivered as %+v", r)
	}
}

func recvBooking(t *testing.T, ch <-chan *BookingRequest) *BookingRequest {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("nothing handled")
		return nil
	}
}

// TestBookingServerAcksBeforeHandling: the reply does not wait for the
// handler, which runs after; a repeated message_id is ACKed and not handled again.
func TestBookingServerAcksBeforeHandling(t *testing.T) {
	started := make(chan *BookingRequest, 4)
	release := make(chan struct{})
	s, base := startBookingServer(t, func(ctx context.Context, r *BookingRequest) {
		started <- r
		select {
		case <-release:
		case <-ctx.Done():
		}
	}, WithBookingWorkers(1, 4))
	body := readGolden(t, "confirm_physical.json")
	// The handler holds the only worker until released: had the reply
	// waited for it, this post would never return.
	if status, reply, _ := post(t, base+"confirm", body, nil); status != 200 || reply != wantACK {
		t.Fatalf("%d %s", status, reply)
	}
	r := recvBooking(t, started)
	eq(t, "order", r.Envelope.Message.Order.ID, "1042-696786-8441")
	if r.ReceivedAt.IsZero() {
		t.Error("no ReceivedAt")
	}
	if status, reply, _ := post(t, base+"confirm", body, nil); status != 200 || reply != wantACK {
		t.Fatalf("repeat: %d %s", status, reply)
	}
	// The same message_id on another endpoint is another message.
	st := patch(t, readGolden(t, "status_physical.json"), func(m map[string]any) {
		at(m, "context")["message_id"] = r.Envelope.Context.MessageID
	})
	if status, _, _ := post(t, base+"status", st, nil); status != 200 {
		t.Fatal(status)
	}
	close(release)
	if r := recvBooking(t, started); r.Action != ActionStatus {
		t.Errorf("handled next: %s, want the status (the repeated confirm is not handled again)", r.Action)
	}
	select {
	case r := <-started:
		t.Errorf("handled again: %s %s", r.Action, r.Envelope.Context.MessageID)
	case <-time.After(200 * time.Millisecond):
	}
	eq(t, "duplicates", s.Stats().Duplicates, uint64(1))
}

// TestBookingServerQueueFull: with the worker busy and the queue full, a
// request is refused with 503 and Retry-After, at once, and taken when sent again.
func TestBookingServerQueueFull(t *testing.T) {
	started := make(chan *BookingRequest, 4)
	release := make(chan struct{})
	s, base := startBookingServer(t, func(ctx context.Context, r *BookingRequest) {
		started <- r
		select {
		case <-release:
		case <-ctx.Done():
		}
	}, WithBookingWorkers(1, 1))
	bodies := [][]byte{readGolden(t, "status_physical.json"), readGolden(t, "status_tele.json"), readGolden(t, "cancel_physical.json")}
	post(t, base+"status", bodies[0], nil)
	recvBooking(t, started) // the worker is busy with the first
	if status, _, _ := post(t, base+"status", bodies[1], nil); status != 200 {
		t.Fatalf("second (queued): %d", status)
	}
	status, reply, h := post(t, base+"cancel", bodies[2], nil)
	if status != 503 || h.Get("Retry-After") != "1" {
		t.Fatalf("third: %d %s Retry-After %q", status, reply, h.Get("Retry-After"))
	}
	eq(t, "code", nack(t, reply).Code, CodeUnavailable)
	eq(t, "queue full", s.Stats().QueueFull, uint64(1))
	close(release)
	recvBooking(t, started)
	// The refused message_id was forgotten: the retry is taken.
	var ok bool
	for i := 0; i < 50 && !ok; i++ {
		status, _, _ := post(t, base+"cancel", bodies[2], nil)
		ok = status == 200
		if !ok {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ok {
		t.Fatal("the retry was never taken")
	}
	eq(t, "retried cancel handled", recvBooking(t, started).Action, ActionCancel)
}

func TestBookingServerOptions(t *testing.T) {
	h := func(context.Context, *BookingRequest) {}
	if _, err := NewBookingServer(nil); err == nil {
		t.Error("nil handler accepted")
	}
	for _, o := range []BookingOption{WithBookingVerifier(nil), WithGatewayVerifier(nil), WithBookingLogger(nil),
		WithBookingClock(nil), WithBookingMaxBody(0), WithBookingWorkers(0, 1), WithBookingWorkers(1, 0), WithBookingDedup(0, time.Second)} {
		if _, err := NewBookingServer(h, o); err == nil {
			t.Error("bad option accepted")
		}
	}
	if _, err := NewSignatureVerifier(someKeyring(t), WithSignatureHeader(" ")); err == nil {
		t.Error("empty signature header accepted")
	}
	s, _ := NewBookingServer(h)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.Run(ctx)
	if err := s.Run(ctx); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run: %v", err)
	}
	eq(t, "endpoints", strings.Join(BookingEndpoints(), ","), "search,init,confirm,status,cancel,on_update")
}

func someKeyring(t *testing.T) *Keyring {
	t.Helper()
	pub := make(ed25519.PublicKey, ed25519.PublicKeySize)
	enc, _ := EncodePublicKey(pub)
	kr, err := NewKeyring(map[string]string{"x|k": enc})
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestBookingBesideOnMessage: one mux serves on_message and the booking endpoints.
func TestBookingBesideOnMessage(t *testing.T) {
	got := make(chan *BookingRequest, 1)
	bs, err := NewBookingServer(func(_ context.Context, r *BookingRequest) { got <- r })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = bs.Run(ctx) }()
	s, err := NewServer(doctorAddr)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	s.Mount(mux)
	bs.Mount(mux)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	if status, reply, _ := post(t, hs.URL+"/api/v1/on_message", answerBody(t), nil); status != 200 {
		t.Fatalf("on_message: %d %s", status, reply)
	}
	recv(t, s.Signals())
	if status, reply, _ := post(t, hs.URL+"/init", readGolden(t, "init_tele.json"), nil); status != 200 {
		t.Fatalf("init: %d %s", status, reply)
	}
	eq(t, "init", recvBooking(t, got).Action, ActionInit)
}

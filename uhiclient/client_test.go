package uhiclient

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestJoinURI(t *testing.T) {
	cases := map[string]string{
		"https://uhieuasandbox.abdm.gov.in/api/v1/bookingService/": "https://uhieuasandbox.abdm.gov.in/api/v1/bookingService/on_message",
		"https://hspasbx.abdm.gov.in/api/v1":                       "https://hspasbx.abdm.gov.in/api/v1/on_message",
		"http://100.65.158.41:8901/api/v1/euaService//":            "http://100.65.158.41:8901/api/v1/euaService/on_message",
		"http://h:1":          "http://h:1/on_message",
		"http://h:1/?x=1":     "http://h:1/on_message?x=1",
		" https://h/a%20b/  ": "https://h/a%20b/on_message",
	}
	for in, want := range cases {
		got, err := JoinURI(in, "on_message")
		if err != nil || got != want {
			t.Errorf("JoinURI(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "/api/v1", "ftp://h/x", "https://", "::"} {
		if _, err := JoinURI(bad, "on_message"); !errors.Is(err, ErrBadURI) {
			t.Errorf("JoinURI(%q) err = %v", bad, err)
		}
	}
}

func fastClient(t *testing.T, opts ...ClientOption) *Client {
	t.Helper()
	c, err := NewClient(append([]ClientOption{WithRetry(4, time.Millisecond, 5*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientDeliversSignedToRealServer(t *testing.T) {
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	kr, _ := NewKeyring(map[string]string{"hspa-nha|k1|ed25519": tvPublic})
	v, _ := NewSignatureVerifier(kr, WithVerifierClock(clock))
	srv, err := NewServer(patientAddr, WithVerifier(v), WithBasePath("/api/v1/euaService"))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	_, priv := testKey(t)
	signer, _ := NewSigner(priv, "hspa-nha", "k1", WithSignerClock(clock))
	c := fastClient(t, WithSigner(signer))
	env, _ := newTestBuilder(t, doctorIdentity()).Offer(SessionID(doctorAddr, patientAddr), chromeSDP("offer"))
	if err := c.Send(context.Background(), hs.URL+"/api/v1/euaService/", env); err != nil {
		t.Fatal(err)
	}
	in := recv(t, srv.Signals())
	if in.KeyID != "hspa-nha|k1|ed25519" || in.Signal.Type != SignalOffer {
		t.Fatalf("%+v", in)
	}
}

func TestClientRetries5xxThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			writeNack(w, 503, ErrorBody{Type: TypeCore, Code: CodeUnavailable, Message: "busy"})
			return
		}
		writeAck(w)
	}))
	defer hs.Close()
	if err := fastClient(t).Post(context.Background(), hs.URL, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("calls %d, want 3", calls.Load())
	}
}

func TestClientRetriesNetworkErrorThenSucceeds(t *testing.T) {
	// The first connection is dropped without a reply, the second is served.
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		writeAck(w)
	}))
	defer hs.Close()
	if err := fastClient(t).Post(context.Background(), hs.URL, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls %d, want 2", calls.Load())
	}
}

func TestClientGivesUpAfterAttempts(t *testing.T) {
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "boom", 500)
	}))
	defer hs.Close()
	err := fastClient(t).Post(context.Background(), hs.URL, []byte(`{}`))
	var n *NackError
	if !errors.As(err, &n) || n.HTTPStatus != 500 || n.Message != "boom" {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 4 {
		t.Fatalf("calls %d, want 4", calls.Load())
	}
}

func TestClientNoRetryOn4xxNack(t *testing.T) {
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeNack(w, 401, ErrorBody{Type: TypePolicy, Code: CodeInvalidSignature, Path: "Authorization", Message: "bad signature"})
	}))
	defer hs.Close()
	err := fastClient(t).Post(context.Background(), hs.URL, []byte(`{}`))
	var n *NackError
	if !errors.As(err, &n) {
		t.Fatalf("err %v is not a NackError", err)
	}
	if n.HTTPStatus != 401 || n.Code != "UHI-1405" || n.Type != TypePolicy || n.Path != "Authorization" || n.Message != "bad signature" || n.Temporary() {
		t.Errorf("%+v", n)
	}
	if calls.Load() != 1 {
		t.Fatalf("calls %d, want 1", calls.Load())
	}
	// A NACK inside an HTTP 200 is a refusal too.
	hs2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeNack(w, 200, ErrorBody{Type: TypeSchema, Code: CodeInvalidJSON, Message: "bad"})
	}))
	defer hs2.Close()
	if err := fastClient(t).Post(context.Background(), hs2.URL, []byte(`{}`)); !errors.As(err, &n) || n.Code != CodeInvalidJSON {
		t.Fatalf("200 NACK: %v", err)
	}
}

func TestClientContextCancelStopsRetries(t *testing.T) {
	var calls atomic.Int32
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(503)
	}))
	defer hs.Close()
	c, _ := NewClient(WithRetry(100, 50*time.Millisecond, 50*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Post(ctx, hs.URL, []byte(`{}`))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("took %s after cancel", d)
	}
	if n := calls.Load(); n < 1 || n > 6 { // 120 ms of 50 ms backoffs: a few tries, never 100
		t.Fatalf("calls %d", n)
	}
}

func TestClientNetworkDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	err := fastClient(t).Post(context.Background(), "http://"+addr, []byte(`{}`))
	var n *NackError
	if err == nil || errors.As(err, &n) {
		t.Fatalf("err = %v", err)
	}
	if err := fastClient(t).Post(context.Background(), "mailto:x", nil); !errors.Is(err, ErrBadURI) {
		t.Fatalf("bad uri: %v", err)
	}
}

func TestClientNoRetryOnBadCertificate(t *testing.T) {
	var calls, conns atomic.Int32
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeAck(w)
	}))
	hs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.StartTLS()
	defer hs.Close()
	c, _ := NewClient(WithRetry(4, time.Millisecond, 5*time.Millisecond))
	if err := c.Post(context.Background(), hs.URL, []byte(`{}`)); err == nil {
		t.Fatal("a self-signed certificate was accepted")
	}
	// A certificate error is final: one connection, no retries.
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections for one send: a certificate error was retried", n)
	}
	if calls.Load() != 0 {
		t.Fatal("request reached the handler")
	}
	// With the server's own trust, it goes through.
	c2, _ := NewClient(WithHTTPClient(hs.Client()))
	if err := c2.Post(context.Background(), hs.URL, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
}

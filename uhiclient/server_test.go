package uhiclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const wantACK = `{"message":{"ack":{"status":"ACK"}}}`

func newTestServer(t *testing.T, local string, opts ...ServerOption) (*Server, *httptest.Server) {
	t.Helper()
	s, err := NewServer(local, opts...)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

func post(t *testing.T, url string, body []byte, h http.Header) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// nack decodes a NACK reply and checks its shape (docs/protocol.md §1).
func nack(t *testing.T, body string) ErrorBody {
	t.Helper()
	var r struct {
		Message struct {
			Ack struct {
				Status string `json:"status"`
			} `json:"ack"`
		} `json:"message"`
		Error *ErrorBody `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("NACK is not JSON: %q", body)
	}
	if r.Message.Ack.Status != "NACK" || r.Error == nil || r.Error.Code == "" || r.Error.Type == "" || r.Error.Message == "" {
		t.Fatalf("bad NACK shape: %s", body)
	}
	return *r.Error
}

func recv(t *testing.T, ch <-chan *Inbound) *Inbound {
	t.Helper()
	select {
	case in := <-ch:
		return in
	case <-time.After(2 * time.Second):
		t.Fatal("nothing delivered")
		return nil
	}
}

func none(t *testing.T, ch <-chan *Inbound) {
	t.Helper()
	select {
	case in := <-ch:
		t.Fatalf("unexpected delivery %s", in.MessageID)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestServerAcksAndDelivers(t *testing.T) {
	now := time.Unix(1700000000, 0)
	s, hs := newTestServer(t, doctorAddr, WithServerClock(func() time.Time { return now }))
	for _, path := range []string{"/api/v1/on_message", "/on_message"} {
		body := answerBody(t)
		body = patch(t, body, func(m map[string]any) { at(m, "context")["message_id"] = "id-" + path })
		status, reply, h := post(t, hs.URL+path, body, nil)
		if status != 200 || reply != wantACK || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %q", path, status, reply)
		}
		in := recv(t, s.Signals())
		if in.Signal.Type != SignalAnswer || in.Sender != patientAddr || in.MessageID != "id-"+path || !in.ReceivedAt.Equal(now) {
			t.Fatalf("%s: delivered %+v", path, in)
		}
	}
	// Chat goes to its own channel.
	status, reply, _ := post(t, hs.URL+"/on_message", mustMarshal(t, newTestBuilder(t, patientIdentity()).Text("hello")), nil)
	if status != 200 || reply != wantACK {
		t.Fatalf("chat: %d %s", status, reply)
	}
	if in := recv(t, s.Chats()); in.Chat == nil || in.Chat.Value != "hello" {
		t.Fatalf("chat delivered %+v", in)
	}
	none(t, s.Signals())
	if st := s.Stats(); st.Accepted != 3 || st.Rejected != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestServerNacks(t *testing.T) {
	s, hs := newTestServer(t, doctorAddr)
	big := patch(t, answerBody(t), func(m map[string]any) {
		at(m, "message.intent.chat.sender.person")["image"] = base64.StdEncoding.EncodeToString(make([]byte, 1600<<10))
	})
	if len(big) <= 2<<20 {
		t.Fatalf("big body only %d bytes", len(big))
	}
	forOther := patch(t, answerBody(t), func(m map[string]any) {
		p := at(m, "message.intent.chat.receiver.person")
		p["cred"], p["id"] = "someoneelse@hpr.ndhm", "someoneelse@hpr.ndhm"
	})
	cases := []struct {
		name   string
		method string
		body   []byte
		chunk  bool
		status int
		code   string
		path   string
	}{
		{"malformed JSON", "POST", []byte(`{"context":`), false, 400, "UHI-1411", "body"},
		{"broken field", "POST", patchValue(t, answerBody(t), func(v map[string]any) { delete(at(v, "data.description"), "sdp") }), false, 400, "UHI-1411",
			"message.intent.chat.content.content_value.data.description.sdp"},
		{"over 2 MiB with length", "POST", big, false, 413, "UHI-1413", "body"},
		{"over 2 MiB chunked", "POST", big, true, 413, "UHI-1413", "body"},
		{"for another doctor", "POST", forOther, false, 400, "UHI-1400", "message.intent.chat.receiver.person.cred"},
		{"GET", "GET", nil, false, 405, "UHI-1400", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r io.Reader = bytes.NewReader(tc.body)
			if tc.chunk {
				r = io.MultiReader(r) // hides the length: chunked transfer
			}
			req, _ := http.NewRequest(tc.method, hs.URL+"/api/v1/on_message", r)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			e := nack(t, string(b))
			if e.Code != tc.code || e.Path != tc.path {
				t.Errorf("code %s path %q, want %s %q (%s)", e.Code, e.Path, tc.code, tc.path, e.Message)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Error("no Allow header")
			}
		})
	}
	none(t, s.Signals())
	if st := s.Stats(); st.Rejected != uint64(len(cases)) {
		t.Errorf("rejected %d, want %d", st.Rejected, len(cases))
	}
}

func TestServerAcceptsLargePhoto(t *testing.T) {
	s, hs := newTestServer(t, doctorAddr)
	body := patch(t, answerBody(t), func(m map[string]any) {
		at(m, "message.intent.chat.sender.person")["image"] = base64.StdEncoding.EncodeToString(make([]byte, 1150<<10))
	})
	if len(body) < 3<<19 || len(body) > 2<<20 {
		t.Fatalf("body is %d bytes, want about 1.5 MiB", len(body))
	}
	if status, reply, _ := post(t, hs.URL+"/api/v1/on_message", body, nil); status != 200 || reply != wantACK {
		t.Fatalf("%d %s", status, reply)
	}
	recv(t, s.Signals())
}

func TestServerDedup(t *testing.T) {
	s, hs := newTestServer(t, doctorAddr)
	body := answerBody(t)
	for i := range 3 {
		if status, reply, _ := post(t, hs.URL+"/on_message", body, nil); status != 200 || reply != wantACK {
			t.Fatalf("send %d: %d %s", i, status, reply)
		}
	}
	recv(t, s.Signals())
	none(t, s.Signals())
	if st := s.Stats(); st.Duplicates != 2 || st.Accepted != 1 {
		t.Errorf("stats %+v", st)
	}
	// Memory stays bounded: a small dedup forgets the oldest ids.
	d := newDedup(3, time.Hour)
	t0 := time.Unix(0, 0)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if !d.add(id, t0) {
			t.Fatalf("%s not new", id)
		}
	}
	if d.len() != 3 || !d.add("a", t0) || d.add("e", t0) {
		t.Errorf("ring eviction wrong, len %d", d.len())
	}
	// And ids older than the window are forgotten.
	w := newDedup(10, time.Minute)
	w.add("x", t0)
	if w.add("x", t0.Add(30*time.Second)) || !w.add("x", t0.Add(2*time.Minute)) {
		t.Error("window not honoured")
	}
}

// With nobody reading, replies still come at once; once the queue is full the
// sender gets 503 and its retry is taken after the reader catches up.
func TestServerQueueFullAndNonBlocking(t *testing.T) {
	s, hs := newTestServer(t, doctorAddr, WithQueueSize(2, 1))
	bodies := make([][]byte, 3)
	for i := range bodies {
		bodies[i] = patch(t, answerBody(t), func(m map[string]any) { at(m, "context")["message_id"] = "m" + string(rune('0'+i)) })
	}
	for i := range 2 {
		start := time.Now()
		if status, reply, _ := post(t, hs.URL+"/on_message", bodies[i], nil); status != 200 || reply != wantACK {
			t.Fatalf("%d: %d %s", i, status, reply)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("reply took %s with nobody reading", d)
		}
	}
	status, reply, h := post(t, hs.URL+"/on_message", bodies[2], nil)
	if status != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("full queue: %d %s", status, reply)
	}
	if e := nack(t, reply); e.Code != CodeUnavailable {
		t.Errorf("code %s", e.Code)
	}
	recv(t, s.Signals())
	if status, reply, _ := post(t, hs.URL+"/on_message", bodies[2], nil); status != 200 || reply != wantACK {
		t.Fatalf("retry after drain: %d %s", status, reply)
	}
	if in := recv(t, s.Signals()); in.MessageID != "m1" {
		t.Fatalf("order: got %s", in.MessageID)
	}
	if in := recv(t, s.Signals()); in.MessageID != "m2" {
		t.Fatalf("retried message not delivered: %s", in.MessageID)
	}
	if st := s.Stats(); st.QueueFull != 1 || st.Accepted != 3 {
		t.Errorf("stats %+v", st)
	}
}

// The admission check decides before the reply: its error is the NACK
// (503, UHI-1503, its text, Retry-After), and the message is not queued;
// what it admits is queued and ACKed as before. Chat and repeated
// message_ids never reach it.
func TestServerAdmission(t *testing.T) {
	errFull := errors.New("waiting room is full")
	var (
		mu      sync.Mutex // the check runs on the server's goroutines
		checked []string
		refuse  = true
	)
	s, hs := newTestServer(t, doctorAddr, WithAdmission(func(in *Inbound) error {
		mu.Lock()
		defer mu.Unlock()
		checked = append(checked, in.Signal.Type.String())
		if in.Signal.Type == SignalReady && refuse {
			return errFull
		}
		return nil
	}))
	b := newTestBuilder(t, patientIdentity()) // one builder: a message_id each
	ready, err := b.Ready()
	if err != nil {
		t.Fatal(err)
	}
	readyBody := mustMarshal(t, ready)
	answer, err := b.Answer(SessionID(doctorAddr, patientAddr), chromeSDP("answer"))
	if err != nil {
		t.Fatal(err)
	}

	status, reply, h := post(t, hs.URL+"/on_message", readyBody, nil)
	if status != http.StatusServiceUnavailable || h.Get("Retry-After") != "5" {
		t.Fatalf("refused READY: %d, Retry-After %q, %s; want 503 with Retry-After 5", status, h.Get("Retry-After"), reply)
	}
	if e := nack(t, reply); e.Code != CodeUnavailable || e.Type != TypeCore ||
		!strings.Contains(e.Message, ErrNotAdmitted.Error()) || !strings.Contains(e.Message, errFull.Error()) {
		t.Errorf("refused READY's NACK %+v; want %s %s naming %q", e, TypeCore, CodeUnavailable, errFull)
	}
	none(t, s.Signals())

	// Another signal is admitted, queued and ACKed as before.
	if status, reply, _ := post(t, hs.URL+"/on_message", mustMarshal(t, answer), nil); status != 200 || reply != wantACK {
		t.Fatalf("admitted ANSWER: %d %s", status, reply)
	}
	if in := recv(t, s.Signals()); in.Signal.Type != SignalAnswer {
		t.Fatalf("delivered %v, want the ANSWER", in.Signal.Type)
	}
	// Chat is not signalling: never checked.
	if status, reply, _ := post(t, hs.URL+"/on_message", mustMarshal(t, b.Text("hi")), nil); status != 200 || reply != wantACK {
		t.Fatalf("chat: %d %s", status, reply)
	}
	recv(t, s.Chats())

	// The refused READY's id was not remembered: its retry is checked
	// again, admitted this time, and queued; a repeat of it is then a
	// duplicate, ACKed without a check.
	mu.Lock()
	refuse = false
	mu.Unlock()
	for i := range 2 {
		if status, reply, _ := post(t, hs.URL+"/on_message", readyBody, nil); status != 200 || reply != wantACK {
			t.Fatalf("READY retried (%d): %d %s", i, status, reply)
		}
	}
	if in := recv(t, s.Signals()); in.Signal.Type != SignalReady || in.MessageID != ready.Context.MessageID {
		t.Fatalf("delivered %v %s, want the retried READY", in.Signal.Type, in.MessageID)
	}
	none(t, s.Signals())
	mu.Lock()
	if got := strings.Join(checked, ","); got != "READY,ANSWER,READY" {
		t.Errorf("checked %s; want READY,ANSWER,READY", got)
	}
	mu.Unlock()
	if st := s.Stats(); st.NotAdmitted != 1 || st.Accepted != 3 || st.Duplicates != 1 || st.QueueFull != 0 {
		t.Errorf("stats %+v", st)
	}
	if _, err := NewServer(doctorAddr, WithAdmission(nil)); !errors.Is(err, ErrBadOption) {
		t.Errorf("nil admission check: %v", err)
	}
}

func TestServerReceiverCheck(t *testing.T) {
	// A simulated patient's server: the receiver check uses its local address,
	// matched on cred or id, ignoring case; extra addresses are accepted.
	s, hs := newTestServer(t, strings.ToUpper(patientAddr), WithExtraAddresses("second@sbx"))
	offer := offerBody(t)
	if status, reply, _ := post(t, hs.URL+"/on_message", offer, nil); status != 200 {
		t.Fatalf("%d %s", status, reply)
	}
	recv(t, s.Signals())
	idOnly := patch(t, offerBody(t), func(m map[string]any) {
		at(m, "context")["message_id"] = "x2"
		p := at(m, "message.intent.chat.receiver.person")
		p["cred"], p["id"] = nil, "second@sbx"
	})
	if status, reply, _ := post(t, hs.URL+"/on_message", idOnly, nil); status != 200 {
		t.Fatalf("%d %s", status, reply)
	}
	recv(t, s.Signals())
	if _, err := NewServer(""); err == nil {
		t.Error("empty local address accepted")
	}
}

func TestServerSignatures(t *testing.T) {
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { return now }
	kr, _ := NewKeyring(map[string]string{"eua-nha|k1|ed25519": tvPublic})
	v, _ := NewSignatureVerifier(kr, WithVerifierClock(clock))
	s, hs := newTestServer(t, doctorAddr, WithVerifier(v), WithServerClock(clock))
	if !strings.HasPrefix(s.Verification(), "ed25519 signatures") {
		t.Errorf("Verification() = %q", s.Verification())
	}
	body := answerBody(t)
	tampered := bytes.Replace(body, []byte("a=mid:0"), []byte("a=mid:9"), 1)
	withDigest := signedHeader(t, body, "eua-nha|k1|ed25519", now)
	withDigest.Set("Digest", DigestHeaderPrefix+Digest(body))
	cases := []struct {
		name   string
		body   []byte
		h      http.Header
		status int
		code   string
	}{
		{"missing", body, nil, 401, CodeAuthMissing},
		{"bearer token", body, http.Header{"Authorization": {"bearer abc"}}, 401, CodeHeaderFailed},
		{"tampered body", tampered, signedHeader(t, body, "eua-nha|k1|ed25519", now), 401, CodeInvalidSignature},
		{"tampered body, digest header", tampered, withDigest, 401, CodeInvalidSignature},
		{"expired", body, signedHeader(t, body, "eua-nha|k1|ed25519", now.Add(-time.Minute)), 401, CodeHeaderFailed},
		{"unknown key", body, signedHeader(t, body, "eua-nha|k7|ed25519", now), 401, CodeHeaderFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, reply, _ := post(t, hs.URL+"/on_message", tc.body, tc.h)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, reply)
			}
			if e := nack(t, reply); e.Code != tc.code || e.Path != "Authorization" {
				t.Errorf("code %s path %s, want %s (%s)", e.Code, e.Path, tc.code, e.Message)
			}
		})
	}
	none(t, s.Signals())
	status, reply, _ := post(t, hs.URL+"/on_message", body, withDigest)
	if status != 200 || reply != wantACK {
		t.Fatalf("good signature: %d %s", status, reply)
	}
	if in := recv(t, s.Signals()); in.KeyID != "eua-nha|k1|ed25519" {
		t.Fatalf("KeyID %q", in.KeyID)
	}
}

func TestServerRegistryDown(t *testing.T) {
	reg, _ := NewRegistry("http://127.0.0.1:1/registry", WithRegistryHTTPClient(&http.Client{Timeout: time.Second}))
	v, _ := NewSignatureVerifier(reg)
	_, hs := newTestServer(t, doctorAddr, WithVerifier(v))
	body := answerBody(t)
	status, reply, h := post(t, hs.URL+"/on_message", body, signedHeader(t, body, "eua-nha|k1|ed25519", time.Now()))
	if status != 503 || h.Get("Retry-After") == "" {
		t.Fatalf("%d %s", status, reply)
	}
	if e := nack(t, reply); e.Code != CodeUnavailable {
		t.Errorf("code %s", e.Code)
	}
}

func TestHTTPServerTimeouts(t *testing.T) {
	s, _ := NewServer(doctorAddr)
	hs := s.HTTPServer("127.0.0.1:0")
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= hs.ReadTimeout || hs.IdleTimeout <= 0 ||
		hs.MaxHeaderBytes <= 0 || hs.ErrorLog == nil || hs.Handler == nil {
		t.Fatalf("server not hardened: %+v", hs)
	}
}

func TestServerOptionsRejectBadValues(t *testing.T) {
	for i, o := range []ServerOption{WithVerifier(nil), WithServerLogger(nil), WithServerClock(nil), WithQueueSize(0, 1),
		WithDedup(0, time.Second), WithMaxBody(0), WithExtraAddresses(""), WithLinger(-time.Second)} {
		if _, err := NewServer(doctorAddr, o); err == nil {
			t.Errorf("option %d accepted a bad value", i)
		}
	}
}

func TestServerClearsLargeImages(t *testing.T) {
	photo := base64.StdEncoding.EncodeToString(make([]byte, 100<<10))
	thumb := "iVBORw0KGgo="
	body := patch(t, answerBody(t), func(m map[string]any) {
		at(m, "message.intent.chat.sender.person")["image"] = photo
		at(m, "message.intent.chat.receiver.person")["image"] = thumb
	})
	for _, tc := range []struct {
		limit      int
		wantSender string
	}{{DefaultMaxImage, ""}, {0, photo}} {
		// The admission check sees the photo before it is cleared: the
		// console keeps it from there (docs/protocol.md §1).
		seen := make(chan string, 1)
		admit := func(in *Inbound) error {
			seen <- in.Envelope.Message.Intent.Chat.Sender.Person.Image
			return nil
		}
		s, hs := newTestServer(t, doctorAddr, WithMaxImage(tc.limit), WithAdmission(admit))
		if status, _, _ := post(t, hs.URL+"/on_message", body, nil); status != 200 {
			t.Fatal(status)
		}
		in := recv(t, s.Signals())
		c := in.Envelope.Message.Intent.Chat
		if c.Sender.Person.Image != tc.wantSender || c.Receiver.Person.Image != thumb {
			t.Errorf("limit %d: sender image %d bytes, receiver %q", tc.limit, len(c.Sender.Person.Image), c.Receiver.Person.Image)
		}
		if got := <-seen; got != photo {
			t.Errorf("limit %d: the admission check saw an image of %d bytes, want the photo whole", tc.limit, len(got))
		}
	}
}

func TestServerWithRegistry(t *testing.T) {
	fr := &fakeRegistry{reply: func(lookupRequest) (int, string) {
		return 200, `[{"subscriber_id":"eua-nha","ukId":"k1","signing_public_key":"` + tvPublic + `"}]`
	}}
	reg := httptest.NewServer(fr)
	defer reg.Close()
	r, err := NewRegistry(reg.URL + "/registry")
	if err != nil {
		t.Fatal(err)
	}
	v, _ := NewSignatureVerifier(r)
	s, hs := newTestServer(t, doctorAddr, WithVerifier(v))
	for i := range 3 {
		body := patch(t, answerBody(t), func(m map[string]any) { at(m, "context")["message_id"] = "r" + string(rune('0'+i)) })
		if status, reply, _ := post(t, hs.URL+"/on_message", body, signedHeader(t, body, "eua-nha|k1|ed25519", time.Now())); status != 200 {
			t.Fatalf("%d %s", status, reply)
		}
		if in := recv(t, s.Signals()); in.KeyID != "eua-nha|k1|ed25519" {
			t.Fatalf("KeyID %q", in.KeyID)
		}
	}
	if n := fr.calls.Load(); n != 1 {
		t.Fatalf("registry asked %d times, want 1", n)
	}
	if !strings.Contains(s.Verification(), "registry "+reg.URL+"/registry/lookup") {
		t.Errorf("Verification() = %q", s.Verification())
	}
}

// serveReal serves s the way the console does (HTTPServer, with its
// timeouts) on a loopback port and returns its address.
func serveReal(t *testing.T, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer("")
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { _ = hs.Close() })
	return ln.Addr().String()
}

// rawConn dials addr with a generous deadline on everything. Its send
// buffer is kept small, as a real link keeps little in flight: on loopback
// the kernel would otherwise take a 3 MiB body into its buffers at once,
// and the body would be "sent" before the server even answered.
func rawConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.(*net.TCPConn).SetWriteBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	return c
}

// rawHead is a POST's request line and headers, with length as its
// Content-Length (chunked when negative) and Connection: close if asked.
func rawHead(length int, closing bool) string {
	h := "POST /api/v1/on_message HTTP/1.1\r\nHost: console\r\nContent-Type: application/json\r\n"
	if length < 0 {
		h += "Transfer-Encoding: chunked\r\n"
	} else {
		h += "Content-Length: " + strconv.Itoa(length) + "\r\n"
	}
	if closing {
		h += "Connection: close\r\n"
	}
	return h + "\r\n"
}

// readTooLarge reads one whole response from c and fails unless it is the
// 413 NACK (docs/protocol.md §1).
func readTooLarge(t *testing.T, c net.Conn) *http.Response {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the reply: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the reply's body: %v", err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413: %s", resp.StatusCode, b)
	}
	if e := nack(t, string(b)); e.Code != CodeTooLarge {
		t.Fatalf("NACK code %s, want %s", e.Code, CodeTooLarge)
	}
	return resp
}

// TestServerOversizeNackReachesClient: a client that sends all of an
// oversized request before reading (in one write here) reads its 413 NACK,
// whether it asked to close the connection or not, and however its body is
// framed: the server reads the rest of the body before closing, so the
// close does not reset the connection under the NACK (RFC 9112 §9.6).
func TestServerOversizeNackReachesClient(t *testing.T) {
	body := bytes.Repeat([]byte(" "), 3<<20)
	var chunked bytes.Buffer
	for b := body; len(b) > 0; b = b[min(len(b), 64<<10):] {
		n := min(len(b), 64<<10)
		fmt.Fprintf(&chunked, "%x\r\n%s\r\n", n, b[:n])
	}
	chunked.WriteString("0\r\n\r\n")
	for _, tc := range []struct {
		name string
		req  []byte
	}{
		{"Connection: close, Content-Length", append([]byte(rawHead(len(body), true)), body...)},
		{"Connection: close, chunked", append([]byte(rawHead(-1, true)), chunked.Bytes()...)},
		{"keep-alive, Content-Length", append([]byte(rawHead(len(body), false)), body...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewServer(doctorAddr)
			if err != nil {
				t.Fatal(err)
			}
			c := rawConn(t, serveReal(t, s))
			if _, err := c.Write(tc.req); err != nil {
				_, rerr := http.ReadResponse(bufio.NewReader(c), nil)
				t.Fatalf("writing the request: %v; then reading the reply: %v", err, rerr)
			}
			readTooLarge(t, c)
		})
	}
}

// TestServerOversizeNackReachesSlowClient: the same for a keep-alive client
// on a slow link, whose body takes far longer to arrive than net/http's own
// half-second grace before it closes.
func TestServerOversizeNackReachesSlowClient(t *testing.T) {
	s, err := NewServer(doctorAddr)
	if err != nil {
		t.Fatal(err)
	}
	c := rawConn(t, serveReal(t, s))
	body := bytes.Repeat([]byte(" "), 3<<20)
	if _, err := io.WriteString(c, rawHead(len(body), false)); err != nil {
		t.Fatal(err)
	}
	const pieces = 32
	for i := range pieces {
		time.Sleep(50 * time.Millisecond) // pacing, as a slow link would
		if _, err := c.Write(body[i*len(body)/pieces : (i+1)*len(body)/pieces]); err != nil {
			_, rerr := http.ReadResponse(bufio.NewReader(c), nil)
			t.Fatalf("writing piece %d of the body: %v; then reading the reply: %v", i, err, rerr)
		}
	}
	readTooLarge(t, c)
}

// TestServerOversizeDrainIsBounded: reading what is left of an oversized
// body is bounded in time (WithLinger), even behind an http.Server with no
// timeouts of its own, so a client cannot hold a connection, or feed it
// forever, by being refused.
func TestServerOversizeDrainIsBounded(t *testing.T) {
	t.Run("a body that stops coming", func(t *testing.T) {
		_, hs := newTestServer(t, doctorAddr, WithLinger(200*time.Millisecond))
		c := rawConn(t, hs.Listener.Addr().String())
		if _, err := io.WriteString(c, rawHead(3<<20, true)+strings.Repeat(" ", 100<<10)); err != nil {
			t.Fatal(err)
		}
		readTooLarge(t, c)
		if _, err := io.Copy(io.Discard, c); isTimeout(err) {
			t.Fatalf("the server kept waiting for the rest of the body: %v", err)
		}
	})
	endless := []struct {
		name string
		head string
		// piece is one more piece of the body.
		piece []byte
	}{
		{"a chunked body that never ends", rawHead(-1, false), []byte(fmt.Sprintf("%x\r\n%s\r\n", 64<<10, bytes.Repeat([]byte(" "), 64<<10)))},
		{"a declared length past the bound", rawHead(1<<40, false), bytes.Repeat([]byte(" "), 64<<10)},
	}
	for _, tc := range endless {
		t.Run(tc.name, func(t *testing.T) {
			_, hs := newTestServer(t, doctorAddr, WithLinger(300*time.Millisecond))
			c := rawConn(t, hs.Listener.Addr().String())
			type result struct {
				n   int64
				err error
			}
			wrote := make(chan result, 1)
			go func() {
				// Until the server stops it, or rawConn's deadline.
				n, err := io.WriteString(c, tc.head)
				total := int64(n)
				for err == nil {
					n, err = c.Write(tc.piece)
					total += int64(n)
				}
				wrote <- result{total, err}
			}()
			readTooLarge(t, c)
			if r := <-wrote; isTimeout(r.err) {
				t.Fatalf("the server kept reading the body after its NACK, %d bytes, until the client gave up: %v", r.n, r.err)
			}
		})
	}
	t.Run("Expect: 100-continue", func(t *testing.T) {
		_, hs := newTestServer(t, doctorAddr, WithLinger(time.Hour))
		c := rawConn(t, hs.Listener.Addr().String())
		head := strings.Replace(rawHead(3<<20, false), "\r\n\r\n", "\r\nExpect: 100-continue\r\n\r\n", 1)
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		readTooLarge(t, c) // not 100 Continue: the body is not wanted
		if _, err := io.Copy(io.Discard, c); isTimeout(err) {
			t.Fatalf("the server waited for a body it had refused: %v", err)
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestServerDelivery(t *testing.T) {
	// A relay: every accepted message is handed on before the reply, and
	// the reply is what the delivery says.
	errDown := errors.New("broker down")
	var (
		mu     sync.Mutex
		got    []string
		answer error
	)
	s, hs := newTestServer(t, "hub", WithDelivery(func(_ context.Context, in *Inbound, body []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if answer == nil {
			// The body handed on is the one received, to decode again.
			again, err := Decode(body)
			if err != nil || again.MessageID != in.MessageID {
				t.Errorf("body handed on decodes to %v, %v", again, err)
			}
			got = append(got, in.Receiver)
		}
		return answer
	}))
	b := newTestBuilder(t, patientIdentity())
	ready, err := b.Ready()
	if err != nil {
		t.Fatal(err)
	}
	body := mustMarshal(t, ready)
	cases := []struct {
		err    error
		status int
		code   string
		retry  string
	}{
		{fmt.Errorf("%w: no such doctor", ErrNotForMe), http.StatusBadRequest, CodeBadRequest, ""},
		{fmt.Errorf("%w: the doctor is offline", ErrNotAdmitted), http.StatusServiceUnavailable, CodeUnavailable, "5"},
		{errDown, http.StatusServiceUnavailable, CodeUnavailable, "1"},
	}
	for _, c := range cases {
		mu.Lock()
		answer = c.err
		mu.Unlock()
		status, reply, h := post(t, hs.URL+"/on_message", body, nil)
		if e := nack(t, reply); status != c.status || e.Code != c.code || h.Get("Retry-After") != c.retry ||
			!strings.Contains(e.Message, c.err.Error()) {
			t.Errorf("delivery error %v: %d %+v Retry-After %q; want %d %s Retry-After %q", c.err, status, e,
				h.Get("Retry-After"), c.status, c.code, c.retry)
		}
	}
	// Each refusal forgot the message_id: the retry is delivered, once.
	mu.Lock()
	answer = nil
	mu.Unlock()
	for range 2 {
		if status, reply, _ := post(t, hs.URL+"/on_message", body, nil); status != 200 || reply != wantACK {
			t.Fatalf("delivered: %d %s", status, reply)
		}
	}
	mu.Lock()
	if len(got) != 1 || got[0] != doctorAddr {
		t.Errorf("delivered for %v; want once for %s (any receiver, the relay decides)", got, doctorAddr)
	}
	mu.Unlock()
	none(t, s.Signals())
	if _, err := NewServer("hub", WithDelivery(nil)); !errors.Is(err, ErrBadOption) {
		t.Errorf("nil delivery: %v", err)
	}
}

package hub

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/internal/uhitest"
	"teleconsole/uhiclient"
)

// These tests run the hub against a real NATS server with JetStream,
// embedded in the test's process, with one NATS user per doctor.

const (
	doctorA  = "ganeshborse@hpr.ndhm"
	doctorB  = "asha.rao@hpr.ndhm"
	patientA = "manishkahane@sbx"
	hubPass  = "hub-secret"
)

// testDoctors are the hospital of these tests: two doctors, each with a
// NATS user of their own.
func testDoctors() []Doctor {
	return []Doctor{
		{Address: doctorA, User: "ganesh", Password: "pw-a"},
		{Address: doctorB, User: "asha", Password: "pw-b"},
	}
}

type rig struct {
	t    testing.TB
	ns   *server.Server
	url  string
	hubs []*hubRun
	log  *slog.Logger
}

type hubRun struct {
	hub *Hub
	nc  *nats.Conn
	srv *httptest.Server
}

func newRig(t testing.TB) *rig { return newRigMaxPayload(t, 0) }

// newLogRig is a rig with no NATS server yet, its log shown if the test
// fails.
func newLogRig(t testing.TB) *rig {
	t.Helper()
	var logs lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs.String())
		}
	})
	return &rig{t: t, log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// addHub starts one hub replica on the rig's NATS with its own connection
// and HTTP endpoint.
func (r *rig) addHub(signer *uhiclient.Signer, now func() time.Time) *hubRun {
	r.t.Helper()
	nc, err := nats.Connect(r.url, nats.UserInfo("hub", hubPass), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		r.t.Fatal(err)
	}
	opts := []uhiclient.ClientOption{uhiclient.WithRetry(2, 10*time.Millisecond, 50*time.Millisecond)}
	if signer != nil {
		opts = append(opts, uhiclient.WithSigner(signer))
	}
	client, err := uhiclient.NewClient(opts...)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h, err := New(ctx, Config{Doctors: testDoctors(), Conn: nc, Client: client, ProviderID: "hospital",
		ProviderURI: "https://hospital.example/api/v1", Log: r.log.With("hub", len(r.hubs)), Now: now,
		EnsureEvery: 100 * time.Millisecond})
	if err != nil {
		r.t.Fatal(err)
	}
	srv := httptest.NewServer(h.Handler())
	run := &hubRun{hub: h, nc: nc, srv: srv}
	r.t.Cleanup(func() { srv.Close(); h.Close(); nc.Close() })
	r.hubs = append(r.hubs, run)
	return run
}

// link starts a console's link as the doctor's NATS user.
func (r *rig) link(d Doctor) *Link {
	r.t.Helper()
	l := r.dial(d)
	if err := l.Start(nil); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = l.Close(context.Background()); l.Disconnect() })
	return l
}

func (r *rig) dial(d Doctor) *Link {
	r.t.Helper()
	l, err := Dial(LinkConfig{URL: r.url, Doctor: d.Address, Options: []nats.Option{nats.UserInfo(d.User, d.Password)},
		Log: r.log.With("console", d.Address)})
	if err != nil {
		r.t.Fatal(err)
	}
	return l
}

// waitOnline waits until every hub has seen the doctor's console.
func (r *rig) waitOnline(addr string) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, h := range r.hubs {
		for {
			if _, ok := h.hub.lastSeen(addr); ok {
				break
			}
			if time.Now().After(deadline) {
				r.t.Fatalf("no hub saw %s's console", addr)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// patientReady is a READY from a patient to doctor.
func patientReady(t testing.TB, doctor, consumerURI string) []byte {
	t.Helper()
	return uhitest.ReadyBody(t, uhiclient.Identity{
		Self: uhiclient.Person{Name: "Manish", Cred: patientA}, Peer: uhiclient.Person{Cred: doctor},
		ConsumerID: "eua", ConsumerURI: consumerURI, TransactionID: uuid.NewString(),
	})
}

func post(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/api/v1/on_message", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func recv(t *testing.T, ch <-chan *uhiclient.Inbound) *uhiclient.Inbound {
	t.Helper()
	select {
	case in := <-ch:
		return in
	case <-time.After(5 * time.Second):
		t.Fatal("nothing delivered")
		return nil
	}
}

func messageID(t *testing.T, body []byte) string {
	t.Helper()
	in, err := uhiclient.Decode(body)
	if err != nil {
		t.Fatal(err)
	}
	return in.MessageID
}

const ack = `{"message":{"ack":{"status":"ACK"}}}`

func TestHubDeliversToItsDoctorOnly(t *testing.T) {
	r := newRig(t)
	h := r.addHub(nil, nil)
	a, b := r.link(testDoctors()[0]), r.link(testDoctors()[1])
	r.waitOnline(doctorA)
	r.waitOnline(doctorB)

	toA, toB := patientReady(t, doctorA, "http://p/api/v1"), patientReady(t, doctorB, "http://p/api/v1")
	for _, body := range [][]byte{toA, toB} {
		if status, reply := post(t, h.srv.URL, body); status != 200 || reply != ack {
			t.Fatalf("post: %d %s", status, reply)
		}
	}
	if in := recv(t, a.Signals()); in.MessageID != messageID(t, toA) || in.Signal.Type != uhiclient.SignalReady {
		t.Errorf("A got %s %v; want its READY", in.MessageID, in.Signal.Type)
	}
	if in := recv(t, b.Signals()); in.MessageID != messageID(t, toB) {
		t.Errorf("B got %s; want its own READY", in.MessageID)
	}
}

func TestHubRefusesUnregisteredAndOffline(t *testing.T) {
	r := newRig(t)
	var (
		mu   sync.Mutex
		skew time.Duration
	)
	h := r.addHub(nil, func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(skew) })

	status, reply := post(t, h.srv.URL, patientReady(t, "nobody@hpr.ndhm", "http://p/api/v1"))
	if status != http.StatusBadRequest || !strings.Contains(reply, ErrNotRegistered.Error()) {
		t.Errorf("unregistered doctor: %d %s; want 400 naming %q", status, reply, ErrNotRegistered)
	}
	status, reply = post(t, h.srv.URL, patientReady(t, doctorA, "http://p/api/v1"))
	if status != http.StatusServiceUnavailable || !strings.Contains(reply, ErrOffline.Error()) || !strings.Contains(reply, "never seen") {
		t.Errorf("doctor never online: %d %s; want 503 naming %q", status, reply, ErrOffline)
	}
	l := r.link(testDoctors()[0])
	r.waitOnline(doctorA)
	if status, reply := post(t, h.srv.URL, patientReady(t, doctorA, "http://p/api/v1")); status != 200 {
		t.Fatalf("doctor online: %d %s", status, reply)
	}
	recv(t, l.Signals())
	// Unseen for more than the offline limit: refused, and nothing stored.
	mu.Lock()
	skew = DefaultOffline + 6*heartbeat
	mu.Unlock()
	status, reply = post(t, h.srv.URL, patientReady(t, doctorA, "http://p/api/v1"))
	if status != http.StatusServiceUnavailable || !strings.Contains(reply, ErrOffline.Error()) || !strings.Contains(reply, "last seen") {
		t.Errorf("doctor offline: %d %s; want 503 naming %q", status, reply, ErrOffline)
	}
}

func TestHubNacksWhileNATSIsDown(t *testing.T) {
	r := newRig(t)
	h := r.addHub(nil, nil)
	l := r.link(testDoctors()[0])
	r.waitOnline(doctorA)
	if s := l.Status(); s != "hub reachable" {
		t.Errorf("link status %q with NATS up", s)
	}
	r.ns.Shutdown()
	status, reply := post(t, h.srv.URL, patientReady(t, doctorA, "http://p/api/v1"))
	if status != http.StatusServiceUnavailable || !strings.Contains(reply, "not delivered") || strings.Contains(reply, "nats: nats:") {
		t.Errorf("NATS down: %d %s; want 503, not delivered, with NATS's words once", status, reply)
	}
	hz, err := http.Get(h.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hz.Body.Close()
	if hz.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz with NATS down: %d", hz.StatusCode)
	}
	// The console's status bar says so.
	deadline := time.Now().Add(5 * time.Second)
	for l.Status() != "hub UNREACHABLE" {
		if time.Now().After(deadline) {
			t.Fatalf("link status %q with NATS down", l.Status())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHubReplicasDropDuplicates(t *testing.T) {
	// The same message_id posted to two replicas (a patient's retry after
	// a lost ACK, behind a load balancer) reaches the console once.
	r := newRig(t)
	h1, h2 := r.addHub(nil, nil), r.addHub(nil, nil)
	l := r.link(testDoctors()[0])
	r.waitOnline(doctorA)
	first, second := patientReady(t, doctorA, "http://p/api/v1"), patientReady(t, doctorA, "http://p/api/v1")
	for _, h := range []*hubRun{h1, h2, h1} {
		if status, reply := post(t, h.srv.URL, first); status != 200 || reply != ack {
			t.Fatalf("post: %d %s", status, reply)
		}
	}
	if status, reply := post(t, h2.srv.URL, second); status != 200 {
		t.Fatalf("post: %d %s", status, reply)
	}
	// The stream is in order: had a duplicate got in, it would come
	// before the second message.
	if in := recv(t, l.Signals()); in.MessageID != messageID(t, first) {
		t.Fatalf("first delivery %s", in.MessageID)
	}
	if in := recv(t, l.Signals()); in.MessageID != messageID(t, second) {
		t.Fatalf("second delivery %s; want the second message, not a duplicate of the first", in.MessageID)
	}
}

func TestLinkReconnectGetsWhatArrived(t *testing.T) {
	r := newRig(t)
	h := r.addHub(nil, nil)
	first := r.dial(testDoctors()[0])
	if err := first.Start(nil); err != nil {
		t.Fatal(err)
	}
	r.waitOnline(doctorA)
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	first.Disconnect()
	// The console is gone, but within the offline limit: the hub takes
	// the messages and holds them for it.
	var want []string
	for range 3 {
		body := patientReady(t, doctorA, "http://p/api/v1")
		if status, reply := post(t, h.srv.URL, body); status != 200 {
			t.Fatalf("post while the console is away: %d %s", status, reply)
		}
		want = append(want, messageID(t, body))
	}
	again := r.link(testDoctors()[0])
	for i, id := range want {
		if in := recv(t, again.Signals()); in.MessageID != id {
			t.Errorf("held message %d: %s, want %s", i, in.MessageID, id)
		}
	}
}

func TestPermissionsKeepEachDoctorToItsOwn(t *testing.T) {
	r := newRig(t)
	r.addHub(nil, nil)
	nc, err := nats.Connect(r.url, nats.UserInfo("asha", "pw-b"), nats.CustomInboxPrefix(InboxPrefix(doctorB)))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	errs := make(chan error, 16)
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { errs <- err })

	// Reading A's consumer: JetStream's API refuses B's user.
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := js.Consumer(ctx, Stream, Durable(doctorA)); err == nil {
		t.Error("doctor B looked up doctor A's consumer")
	}
	// Subscribing to A's subject or inbox is a permissions violation.
	for _, subj := range []string{InboundSubject(doctorA), InboxPrefix(doctorA) + ".>"} {
		if _, err := nc.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			if !errors.Is(err, nats.ErrPermissionViolation) {
				t.Errorf("subscribe %s: %v; want a permissions violation", subj, err)
			}
		case <-time.After(3 * time.Second):
			t.Errorf("subscribe %s as doctor B: no permissions violation", subj)
		}
	}
	// Publishing on A's outbound subject is refused too.
	if err := nc.Publish(OutboundSubject(doctorA), []byte("{}")); err != nil {
		t.Fatal(err)
	}
	_ = nc.Flush()
	select {
	case err := <-errs:
		if !errors.Is(err, nats.ErrPermissionViolation) {
			t.Errorf("publish as A: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Error("publish on doctor A's outbound subject as doctor B: no permissions violation")
	}
}

func TestHubSignsOutboundAsTheHospital(t *testing.T) {
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := uhiclient.NewSigner(priv, "hospital", "k1")
	if err != nil {
		t.Fatal(err)
	}
	pubText, err := uhiclient.EncodePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := uhiclient.NewKeyring(map[string]string{signer.KeyID(): pubText})
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := uhiclient.NewSignatureVerifier(keys)
	if err != nil {
		t.Fatal(err)
	}
	// The patient's endpoint checks the hospital's signature.
	patient, err := uhiclient.NewServer(patientA, uhiclient.WithVerifier(verifier))
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(patient.Handler())
	defer ps.Close()
	consumerURI := ps.URL + "/api/v1"

	r := newRig(t)
	r.addHub(signer, nil)
	a, b := r.link(testDoctors()[0]), r.link(testDoctors()[1])
	env := doctorAck(t, doctorA, consumerURI)
	if err := a.Send(context.Background(), consumerURI, env); err != nil {
		t.Fatalf("send through the hub: %v", err)
	}
	select {
	case in := <-patient.Signals():
		if in.Sender != doctorA || in.KeyID != signer.KeyID() || in.Envelope.Context.ProviderURI != "https://hospital.example/api/v1" ||
			in.Envelope.Context.ProviderID != "hospital" {
			t.Errorf("patient got from %s, key %s, provider %s %s", in.Sender, in.KeyID, in.Envelope.Context.ProviderID,
				in.Envelope.Context.ProviderURI)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("patient got nothing")
	}
	// B sending as A on its own subject: the hub refuses it.
	err = b.Send(context.Background(), consumerURI, doctorAck(t, doctorA, consumerURI))
	var nack *uhiclient.NackError
	if !errors.As(err, &nack) || nack.HTTPStatus != http.StatusForbidden || !strings.Contains(nack.Message, ErrWrongSender.Error()) {
		t.Errorf("B sending as A: %v; want a 403 NACK naming %q", err, ErrWrongSender)
	}
	// The patient's NACK comes back to the console as a NACK.
	err = a.Send(context.Background(), consumerURI, doctorAck(t, doctorA, consumerURI+"/x"))
	if !errors.As(err, &nack) {
		t.Errorf("to a target that is not the consumer_uri: %v; want a NACK", err)
	}
	select {
	case in := <-patient.Signals():
		t.Errorf("patient got a refused message from %s", in.Sender)
	default:
	}
}

func doctorAck(t *testing.T, doctor, consumerURI string) *uhiclient.Envelope {
	t.Helper()
	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Name: "Dr", Cred: doctor}, Peer: uhiclient.Person{Cred: patientA},
		ConsumerID: "eua", ConsumerURI: consumerURI, TransactionID: uuid.NewString(),
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Ack()
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestParseDoctors(t *testing.T) {
	d, err := ParseDoctors(strings.NewReader("# the hospital's doctors\n\nGaneshBorse@hpr.ndhm ganesh pw\nasha@hpr.ndhm\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 2 || d[0] != (Doctor{Address: doctorA, User: "ganesh", Password: "pw"}) || d[1].Address != "asha@hpr.ndhm" {
		t.Errorf("parsed %+v", d)
	}
	for _, bad := range []string{"", "a@b u\n", "a@b\nA@B\n"} {
		if _, err := ParseDoctors(strings.NewReader(bad)); !errors.Is(err, ErrBadDoctors) {
			t.Errorf("%q: %v; want %v", bad, err, ErrBadDoctors)
		}
	}
}

func TestTokenIsOneSubjectToken(t *testing.T) {
	tok := Token(" GaneshBorse@hpr.ndhm ")
	if strings.ContainsAny(tok, ".*> ") || tok != Token(doctorA) {
		t.Errorf("token %q", tok)
	}
	if a, ok := addressOf(tok); !ok || a != doctorA {
		t.Errorf("address of %q: %q %v", tok, a, ok)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLostConsumerComesBack(t *testing.T) {
	// A consumer gone (its servers restarted, an operator deleted it) is
	// made again by the hub, and the console takes its messages again.
	r := newRig(t)
	h := r.addHub(nil, nil)
	l := r.link(testDoctors()[0])
	r.waitOnline(doctorA)
	js, err := jetstream.New(h.nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := js.DeleteConsumer(ctx, Stream, Durable(doctorA)); err != nil {
		t.Fatal(err)
	}
	body := patientReady(t, doctorA, "http://p/api/v1")
	if status, reply := post(t, h.srv.URL, body); status != 200 {
		t.Fatalf("post: %d %s", status, reply)
	}
	select {
	case in := <-l.Signals():
		if in.MessageID != messageID(t, body) {
			t.Errorf("got %s", in.MessageID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the console never took a message again after its consumer was deleted")
	}
}

func TestSendWithNoHubRunning(t *testing.T) {
	// NATS is up but no hub serves the outbound subject: the send is
	// tried again until its deadline, then fails as unreachable.
	r := newRig(t)
	r.addHub(nil, nil).hub.Close() // makes the stream and consumers, then stops serving
	l := r.link(testDoctors()[0])
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	err := l.Send(ctx, "http://p/api/v1", doctorAck(t, doctorA, "http://p/api/v1"))
	if !errors.Is(err, ErrHubUnreachable) {
		t.Fatalf("send with no hub: %v; want %v", err, ErrHubUnreachable)
	}
}

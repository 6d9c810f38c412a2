package simpatient

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/transport/v4/test"

	"teleconsole/call"
	"teleconsole/uhiclient"
)

const doctor = "ganeshborse@hpr.ndhm"

// hspa is a stand-in doctor's endpoint that records what patients send.
type hspa struct {
	uri    string
	client *uhiclient.Client
	mu     sync.Mutex
	got    []*uhiclient.Inbound
}

func newHSPA(t *testing.T) *hspa {
	t.Helper()
	srv, err := uhiclient.NewServer(doctor)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := uhiclient.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	h := &hspa{uri: "http://" + ln.Addr().String() + "/api/v1", client: client}
	hs := srv.HTTPServer("")
	go func() { _ = hs.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case in := <-srv.Signals():
				h.mu.Lock()
				h.got = append(h.got, in)
				h.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { cancel(); _ = hs.Close() })
	return h
}

func (h *hspa) count(typ uhiclient.SignalType) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, in := range h.got {
		if in.Signal.Type == typ {
			n++
		}
	}
	return n
}

func (h *hspa) last() *uhiclient.Inbound {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.got) == 0 {
		return nil
	}
	return h.got[len(h.got)-1]
}

// ack sends the signalling ACK to the patient as from, like a doctor would.
func (h *hspa) ack(t *testing.T, from, patientAddr, patientURI string) {
	t.Helper()
	h.send(t, from, patientAddr, patientURI, (*uhiclient.Builder).Ack)
}

// send posts the envelope build makes to the patient as from; the patient's
// endpoint must ACK it.
func (h *hspa) send(t *testing.T, from, patientAddr, patientURI string, build func(*uhiclient.Builder) (*uhiclient.Envelope, error)) {
	t.Helper()
	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Cred: from}, Peer: uhiclient.Person{Cred: patientAddr},
		ConsumerURI: patientURI, ProviderURI: h.uri, TransactionID: "tx",
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := build(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.client.Send(context.Background(), patientURI, env); err != nil {
		t.Fatal(err)
	}
}

// offer sends the doctor's OFFER of session sid with sdp to the patient.
func (h *hspa) offer(t *testing.T, p *Patient, sid, sdp string) {
	t.Helper()
	h.send(t, doctor, p.cfg.Address, p.URI(), func(b *uhiclient.Builder) (*uhiclient.Envelope, error) { return b.Offer(sid, sdp) })
}

// bye sends the doctor's BYE of session sid to the patient.
func (h *hspa) bye(t *testing.T, p *Patient, sid string) {
	t.Helper()
	h.send(t, doctor, p.cfg.Address, p.URI(), func(b *uhiclient.Builder) (*uhiclient.Envelope, error) { return b.Bye(sid) })
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(t *testing.T, cfg Config, opts ...Option) (*Patient, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	engine, err := call.New(call.WithMedia(call.MediaSynthetic), call.WithPlayback(false), call.WithICEServers(nil))
	if err != nil {
		t.Fatal(err)
	}
	client, err := uhiclient.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, engine, client, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return p, cancel, done
}

// TestReadyUntilAckedByItsDoctor: READY repeats until the doctor the patient
// booked ACKs; an ACK from anyone else is dropped (docs/protocol.md §3).
func TestReadyUntilAckedByItsDoctor(t *testing.T) {
	h := newHSPA(t)
	const addr = "manishkahane1992@sbx"
	p, _, _ := start(t, Config{Name: "Manish", Address: addr, Doctor: doctor, ConsoleURI: h.uri, ReadyInterval: 30 * time.Millisecond})

	waitFor(t, "three READYs", 5*time.Second, func() bool { return h.count(uhiclient.SignalReady) >= 3 })
	in := h.last()
	person := in.Envelope.Message.Intent.Chat.Sender.Person
	if in.Sender != addr || person.Cred != addr || person.ID != addr || person.Name != "Manish" {
		t.Fatalf("READY sender %q person %+v; want cred and id both %s", in.Sender, person, addr)
	}
	if in.Envelope.Context.ConsumerURI != p.URI() || in.TransactionID == "" {
		t.Fatalf("READY context %+v; want consumer_uri %s and a transaction id", in.Envelope.Context, p.URI())
	}

	h.ack(t, "someoneelse@hpr.ndhm", addr, p.URI())
	n := h.count(uhiclient.SignalReady)
	waitFor(t, "READYs to go on after a stranger's ACK", 5*time.Second, func() bool { return h.count(uhiclient.SignalReady) >= n+2 })

	h.ack(t, doctor, addr, p.URI())
	time.Sleep(100 * time.Millisecond) // a READY may already be on its way
	n = h.count(uhiclient.SignalReady)
	time.Sleep(300 * time.Millisecond) // ten intervals
	if m := h.count(uhiclient.SignalReady); m != n {
		t.Fatalf("%d READYs after the doctor's ACK; polling must stop", m-n)
	}
}

// TestLeavingSaysBye: a patient who leaves the waiting room says BYE.
func TestLeavingSaysBye(t *testing.T) {
	h := newHSPA(t)
	_, cancel, done := start(t, Config{Address: "leaving@sbx", Doctor: doctor, ConsoleURI: h.uri, ReadyInterval: time.Second})
	waitFor(t, "a READY", 5*time.Second, func() bool { return h.count(uhiclient.SignalReady) >= 1 })
	cancel()
	<-done
	// The endpoint ACKs before its reader records the message: wait for
	// the record.
	waitFor(t, "the BYE", 5*time.Second, func() bool { return h.count(uhiclient.SignalBye) >= 1 })
	if h.count(uhiclient.SignalBye) != 1 {
		t.Fatalf("got %d BYE on leaving, want 1", h.count(uhiclient.SignalBye))
	}
	if sid := h.last().Signal.SessionID; sid != doctor+"-leaving@sbx" {
		t.Errorf("BYE session_id %q", sid)
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	engine, err := call.New(call.WithMedia(call.MediaSynthetic), call.WithPlayback(false))
	if err != nil {
		t.Fatal(err)
	}
	client, _ := uhiclient.NewClient()
	full := Config{Address: "a@sbx", Doctor: doctor, ConsoleURI: "http://127.0.0.1:1/api/v1"}
	cases := map[string]func(c *Config){
		"ABHA":    func(c *Config) { c.Address = "" },
		"doctor":  func(c *Config) { c.Doctor = "" },
		"console": func(c *Config) { c.ConsoleURI = "" },
		"listen":  func(c *Config) { c.Listen = "not-an-address" },
	}
	for name, breakIt := range cases {
		cfg := full
		breakIt(&cfg)
		if _, err := New(cfg, engine, client); err == nil {
			t.Errorf("missing %s accepted", name)
		} else if name != "listen" && !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(name)) {
			t.Errorf("missing %s: error %q does not say so", name, err)
		}
	}
}

// callContexts is an Option that records the context of every call the
// patient takes, in order, on the returned channel.
func callContexts() (Option, <-chan context.Context) {
	made := make(chan context.Context, 16)
	return func(p *Patient) error {
		p.callContext = func(parent context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(parent)
			made <- ctx
			return ctx, cancel
		}
		return nil
	}, made
}

// next returns the next value on ch, failing the test when none comes
// within a generous deadline.
func next[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

func waitDone(t *testing.T, what string, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the call's context was never cancelled", what)
	}
}

// doctorOffer returns a real OFFER made by a doctor's engine, whose session
// is closed at the end of the test.
func doctorOffer(t *testing.T) string {
	t.Helper()
	engine, err := call.New(call.WithMedia(call.MediaSynthetic), call.WithPlayback(false), call.WithICEServers(nil))
	if err != nil {
		t.Fatal(err)
	}
	offers := make(chan string, 1)
	s, err := engine.Dial("p@sbx", call.SignallerFunc(func(_ context.Context, sig call.Signal) error {
		if sig.Kind == call.SignalOffer {
			select {
			case offers <- sig.Description.SDP:
			default:
			}
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Close(call.EndShutdown)
		<-s.Done()
	})
	return next(t, "the doctor's OFFER", offers)
}

// TestEveryCallsContextEnds: the context a call is answered under is
// cancelled when that call ends, however it ends, so a patient that takes
// call after call does not pile them up under Run's; and
// nothing of the patient's is left running once Run returns.
func TestEveryCallsContextEnds(t *testing.T) {
	defer test.CheckRoutines(t)()
	cases := []struct {
		name string
		cfg  Config
		// end ends the call the patient took; the patient's endpoint is
		// h, the call's session id sid.
		end func(t *testing.T, h *hspa, p *Patient, sid string, stop func())
	}{
		{"answered, then the doctor's BYE", Config{Rejoin: true}, func(t *testing.T, h *hspa, p *Patient, sid string, _ func()) {
			waitFor(t, "the ANSWER", 10*time.Second, func() bool { return h.count(uhiclient.SignalAnswer) >= 1 })
			h.bye(t, p, sid)
		}},
		{"declined", Config{Decline: true, Rejoin: true}, func(t *testing.T, h *hspa, _ *Patient, _ string, _ func()) {
			waitFor(t, "the patient's BYE", 10*time.Second, func() bool { return h.count(uhiclient.SignalBye) >= 1 })
		}},
		{"the doctor gives up before the answer", Config{AnswerDelay: time.Hour}, func(t *testing.T, h *hspa, p *Patient, sid string, _ func()) {
			h.bye(t, p, sid)
		}},
		{"still ringing when Run ends", Config{AnswerDelay: time.Hour}, func(_ *testing.T, _ *hspa, _ *Patient, _ string, stop func()) {
			stop()
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHSPA(t)
			sdp := doctorOffer(t)
			ctxs, made := callContexts()
			cfg := tc.cfg
			cfg.Address, cfg.Doctor, cfg.ConsoleURI, cfg.ReadyInterval = "calls@sbx", doctor, h.uri, time.Second
			p, cancel, done := start(t, cfg, ctxs)
			waitFor(t, "a READY", 10*time.Second, func() bool { return h.count(uhiclient.SignalReady) >= 1 })
			h.offer(t, p, "s1", sdp)
			ctx := next(t, "the call's context", made)
			tc.end(t, h, p, "s1", func() { cancel(); <-done })
			waitDone(t, tc.name, ctx)
		})
	}
}

// TestSlowEventCallbackStallsNothing: the event callback runs on no lock of
// the patient's and holds up none of its work: while the
// callback is stuck on the ACK's event, the endpoint still answers, the
// patient still handles the doctor's OFFER (here declining it with BYE),
// and its lock is free. Once the callback is let go, every event comes, in
// the order things happened.
func TestSlowEventCallbackStallsNothing(t *testing.T) {
	h := newHSPA(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var once, releasing sync.Once
	var mu sync.Mutex
	var kinds []EventKind
	notify := func(e Event) {
		if e.Kind == EventAcked {
			once.Do(func() { close(entered) })
			<-release
		}
		mu.Lock()
		kinds = append(kinds, e.Kind)
		mu.Unlock()
	}
	p, _, _ := start(t, Config{Address: "slowtty@sbx", Doctor: doctor, ConsoleURI: h.uri, ReadyInterval: time.Second, Decline: true},
		WithEvents(notify))
	letGo := func() { releasing.Do(func() { close(release) }) }
	t.Cleanup(letGo) // before start's cleanup, which waits for Run

	waitFor(t, "a READY", 10*time.Second, func() bool { return h.count(uhiclient.SignalReady) >= 1 })
	h.ack(t, doctor, p.cfg.Address, p.URI())
	next(t, "the callback to be called for the ACK", entered)

	h.offer(t, p, "s1", "v=0\r\n") // the endpoint ACKs it: h.send fails the test otherwise
	waitFor(t, "the patient to decline while its callback is stuck", 10*time.Second, func() bool { return h.count(uhiclient.SignalBye) >= 1 })
	frames := make(chan uint64, 1)
	go func() { frames <- p.SessionFramesDecoded() }()
	next(t, "the patient's lock while its callback is stuck", frames)

	letGo()
	waitFor(t, "the declined event", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(kinds) > 0 && kinds[len(kinds)-1] == EventDeclined
	})
	mu.Lock()
	defer mu.Unlock()
	var got []EventKind
	for _, k := range kinds {
		if k != EventReadySent {
			got = append(got, k)
		}
	}
	if want := []EventKind{EventListening, EventAcked, EventOffered, EventDeclined}; !slices.Equal(got, want) {
		t.Fatalf("events %v (READYs left out); want %v", got, want)
	}
}

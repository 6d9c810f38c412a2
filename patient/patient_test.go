package patient

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

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
	b, err := uhiclient.NewBuilder(uhiclient.Identity{
		Self: uhiclient.Person{Cred: from}, Peer: uhiclient.Person{Cred: patientAddr},
		ConsumerURI: patientURI, ProviderURI: h.uri, TransactionID: "tx",
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := b.Ack()
	if err != nil {
		t.Fatal(err)
	}
	if err := h.client.Send(context.Background(), patientURI, env); err != nil {
		t.Fatal(err)
	}
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

func start(t *testing.T, cfg Config) (*Patient, context.CancelFunc, <-chan struct{}) {
	t.Helper()
	engine, err := call.New(call.WithMedia(call.MediaSynthetic), call.WithPlayback(false), call.WithICEServers(nil))
	if err != nil {
		t.Fatal(err)
	}
	client, err := uhiclient.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(cfg, engine, client)
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
// booked ACKs; an ACK from anyone else is dropped (contract §3).
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

package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"teleconsole/call"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// These tests run a whole consultation in one process over loopback HTTP:
// the doctor's console, assembled and run as teleconsole runs it, against
// simulated patients, each with their own on_message endpoint.

const testDoctor = "ganeshborse@hpr.ndhm"

// lockedBuffer is a log sink shown when a test fails.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type rig struct {
	t       testing.TB
	console *Console
	uri     string
	client  *uhiclient.Client
	engine  *call.Engine // the patients'
	log     *slog.Logger
	logs    *lockedBuffer
	ctx     context.Context
}

// newRig starts a console on loopback, as teleconsole does (New, Start,
// Close); extra engine options tune its timeouts.
func newRig(t testing.TB, opts ...call.Option) *rig {
	t.Helper()
	return newRoomRig(t, nil, opts...)
}

// newRoomRig is newRig with the waiting room's options.
func newRoomRig(t testing.TB, room []waitingroom.Option, opts ...call.Option) *rig {
	t.Helper()
	return newConfigRig(t, func(c *Config) { c.Room = room }, opts...)
}

// newConfigRig is newRig with the console's configuration changed by edit.
func newConfigRig(t testing.TB, edit func(*Config), opts ...call.Option) *rig {
	t.Helper()
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", tail(logs.String(), 60))
		}
	})
	ctx, cancel := context.WithCancel(context.Background())

	base := []call.Option{
		call.WithMedia(call.MediaSynthetic), call.WithICEServers(nil), call.WithLoopback(true),
		call.WithPlayback(false), call.WithVideo(320, 240, 15),
	}
	patients, err := call.New(append(base, call.WithLogger(log.With("side", "patient")))...)
	if err != nil {
		t.Fatal(err)
	}
	client, err := uhiclient.NewClient(uhiclient.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	uri := "http://" + ln.Addr().String() + "/api/v1"
	cfg := Config{
		Doctor:      uhiclient.Person{Name: "Dr Borse", Cred: testDoctor},
		ProviderID:  "teleconsole",
		ProviderURI: uri,
		Engine:      append(base, opts...),
		Client:      []uhiclient.ClientOption{uhiclient.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond)},
		Log:         log.With("side", "doctor"),
	}
	edit(&cfg)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Start(ln)
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
	})
	return &rig{t: t, console: c, uri: uri, client: client, engine: patients, log: log, logs: logs, ctx: ctx}
}

// addPatient starts a simulated patient and returns its events.
func (r *rig) addPatient(cfg simpatient.Config) (*simpatient.Patient, <-chan simpatient.Event) {
	r.t.Helper()
	cfg.Doctor, cfg.ConsoleURI = testDoctor, r.uri
	if cfg.ReadyInterval == 0 {
		cfg.ReadyInterval = 200 * time.Millisecond
	}
	events := make(chan simpatient.Event, 256)
	p, err := simpatient.New(cfg, r.engine, r.client, simpatient.WithLogger(r.log.With("patient", cfg.Address)),
		simpatient.WithEvents(func(e simpatient.Event) {
			select {
			case events <- e:
			default:
			}
		}))
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-done })
	return p, events
}

// waitPatient waits until the waiting room shows addr in state want.
func (r *rig) waitPatient(addr string, want waitingroom.State, d time.Duration) waitingroom.Patient {
	r.t.Helper()
	deadline := time.Now().Add(d)
	for {
		for _, p := range r.console.Patients() {
			if p.Address == addr && p.State == want {
				return p
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("patient %s never %s; room: %+v", addr, want, r.console.Patients())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitState waits for the console to report a call state, and returns it.
func (r *rig) waitState(want call.State, d time.Duration) call.StateEvent {
	r.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev := <-r.console.Events():
			if se, ok := ev.(call.StateEvent); ok && se.State == want {
				return se
			}
		case <-timeout:
			r.t.Fatalf("the console never reported %s within %v", want, d)
		}
	}
}

func waitPatientEvent(t *testing.T, events <-chan simpatient.Event, kind simpatient.EventKind, d time.Duration) simpatient.Event {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case e := <-events:
			if e.Kind == kind {
				return e
			}
		case <-timeout:
			t.Fatalf("the patient never reported event kind %d within %v", kind, d)
		}
	}
}

func TestConsultationOverHTTP(t *testing.T) {
	r := newRig(t)
	const addr = "manishkahane1992@sbx"
	p, events := r.addPatient(simpatient.Config{Name: "Manish Pravin Kahane", Address: addr})

	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	got := r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	if got.Name != "Manish Pravin Kahane" || got.ConsumerURI != p.URI() || got.TransactionID == "" {
		t.Fatalf("waiting room has %+v; want the READY's name, consumer_uri %s and a transaction id", got, p.URI())
	}

	start := time.Now()
	if err := r.console.Call(addr); err != nil {
		t.Fatal(err)
	}
	if err := r.console.Call(addr); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second Call during a call returned %v, want ErrBusy", err)
	}
	r.waitState(call.StateConnected, 15*time.Second)
	t.Logf("connected %v after Call", time.Since(start).Round(time.Millisecond))
	r.waitPatient(addr, waitingroom.StateInCall, time.Second)
	first := waitPatientEvent(t, events, simpatient.EventFirstFrame, 10*time.Second)
	if n := p.SessionFramesDecoded(); n == 0 || first.Text != "first video frame decoded" {
		t.Fatalf("first-frame event %q with %d frames decoded; want the event after a decoded frame", first.Text, n)
	}

	// Media both ways: the doctor decodes the patient's video, and the
	// patient decodes the doctor's.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, seq := r.console.Frame()
		if seq >= 10 && p.SessionFramesDecoded() >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("frames decoded: doctor %d, patient %d; want at least 10 each", seq, p.SessionFramesDecoded())
		}
		time.Sleep(50 * time.Millisecond)
	}

	r.console.Hangup()
	ended := r.waitState(call.StateEnded, 10*time.Second)
	if ended.Reason != call.EndHangup {
		t.Errorf("call ended with %v, want %v", ended.Reason, call.EndHangup)
	}
	waitPatientEvent(t, events, simpatient.EventBye, 5*time.Second)
	r.waitPatient(addr, waitingroom.StateDone, 2*time.Second)
}

// TestReadyDuringAWorkingCall: a patient called before an ACK reached them
// keeps READYing from the app's waiting room during the call. The READY is
// ACKed, so the app stops, and the call goes on.
func TestReadyDuringAWorkingCall(t *testing.T) {
	r := newRig(t)
	const addr = "polling@sbx"
	_, events := r.addPatient(simpatient.Config{Address: addr})
	r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	if err := r.console.Call(addr); err != nil {
		t.Fatal(err)
	}
	r.waitState(call.StateConnected, 15*time.Second)
	// The same app instance polling again: READY to the console by hand.
	_, again := r.addPatient(simpatient.Config{Address: addr})
	waitPatientEvent(t, again, simpatient.EventAcked, 5*time.Second)
	time.Sleep(500 * time.Millisecond) // room for a wrong end to show
	if s := r.console.current(); s == nil || s.State() != call.StateConnected {
		t.Fatalf("the call did not go on after a READY: %v", s)
	}
	r.waitPatient(addr, waitingroom.StateInCall, time.Second)
	r.console.Hangup()
	if ended := r.waitState(call.StateEnded, 10*time.Second); ended.Reason != call.EndHangup {
		t.Fatalf("call ended with %v, want %v", ended.Reason, call.EndHangup)
	}
	waitPatientEvent(t, events, simpatient.EventBye, 5*time.Second)
}

func TestRingTimeoutOverHTTP(t *testing.T) {
	r := newRig(t, call.WithRingTimeout(time.Second))
	const addr = "slowpatient@sbx"
	_, events := r.addPatient(simpatient.Config{Address: addr, AnswerDelay: time.Minute})
	r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	if err := r.console.Call(addr); err != nil {
		t.Fatal(err)
	}
	waitPatientEvent(t, events, simpatient.EventOffered, 5*time.Second)
	ended := r.waitState(call.StateEnded, 10*time.Second)
	if ended.Reason != call.EndNoAnswer {
		t.Fatalf("call ended with %v, want %v", ended.Reason, call.EndNoAnswer)
	}
	r.waitPatient(addr, waitingroom.StateNoAnswer, 2*time.Second)
	// The doctor's BYE reaches the patient, whose pending answer is dropped.
	waitPatientEvent(t, events, simpatient.EventBye, 5*time.Second)
}

func TestDeclinedOverHTTP(t *testing.T) {
	r := newRig(t)
	const addr = "busypatient@sbx"
	_, events := r.addPatient(simpatient.Config{Address: addr, Decline: true})
	r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	if err := r.console.Call(addr); err != nil {
		t.Fatal(err)
	}
	waitPatientEvent(t, events, simpatient.EventDeclined, 5*time.Second)
	ended := r.waitState(call.StateEnded, 10*time.Second)
	if ended.Reason != call.EndDeclined {
		t.Fatalf("call ended with %v, want %v", ended.Reason, call.EndDeclined)
	}
	r.waitPatient(addr, waitingroom.StateLeft, 2*time.Second)
}

func TestPatientVanishesOverHTTP(t *testing.T) {
	r := newRig(t, call.WithDisconnectTimeout(time.Second), call.WithReconnectTimeout(3*time.Second))
	const addr = "vanishing@sbx"
	p, _ := r.addPatient(simpatient.Config{Address: addr})
	r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	if err := r.console.Call(addr); err != nil {
		t.Fatal(err)
	}
	r.waitState(call.StateConnected, 15*time.Second)
	lostAt := time.Now()
	p.Vanish()
	ended := r.waitState(call.StateEnded, 20*time.Second)
	if ended.Reason != call.EndConnectionLost {
		t.Fatalf("call ended with %v, want %v", ended.Reason, call.EndConnectionLost)
	}
	t.Logf("lost peer noticed and call ended %v after it vanished", time.Since(lostAt).Round(time.Millisecond))
	r.waitPatient(addr, waitingroom.StateLost, 2*time.Second)
}

func TestFiveCallsInARowOverHTTP(t *testing.T) {
	r := newRig(t)
	const addr = "regular@sbx"
	_, events := r.addPatient(simpatient.Config{Address: addr, Rejoin: true})
	settle := func() int {
		time.Sleep(300 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	var before int
	for i := range 5 {
		r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
		if i == 1 {
			before = settle() // after the first call: lazily started pools are up
		}
		if err := r.console.Call(addr); err != nil {
			t.Fatalf("call %d: %v", i+1, err)
		}
		r.waitState(call.StateConnected, 15*time.Second)
		r.console.Hangup()
		if ended := r.waitState(call.StateEnded, 10*time.Second); ended.Reason != call.EndHangup {
			t.Fatalf("call %d ended with %v", i+1, ended.Reason)
		}
		waitPatientEvent(t, events, simpatient.EventBye, 5*time.Second)
		r.waitPatient(addr, waitingroom.StateDone, 2*time.Second)
	}
	r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	after := settle()
	if after > before+5 {
		t.Fatalf("goroutines grew from %d to %d over four calls: a call leaks", before, after)
	}
}

func TestConsoleDropsSignalsFromStrangers(t *testing.T) {
	r := newRig(t)
	const addr = "honest@sbx"
	r.addPatient(simpatient.Config{Address: addr})
	r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	if err := r.console.Call(addr); err != nil {
		t.Fatal(err)
	}
	// Another patient's BYE must not end this call (docs/protocol.md §3).
	id := uhiclient.Identity{
		Self: uhiclient.Person{Cred: "stranger@sbx"}, Peer: uhiclient.Person{Cred: testDoctor},
		ConsumerURI: "http://127.0.0.1:1/api/v1", ProviderURI: r.uri, TransactionID: "t-1",
	}
	b, err := uhiclient.NewBuilder(id)
	if err != nil {
		t.Fatal(err)
	}
	bye, err := b.Bye(uhiclient.SessionID(testDoctor, addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.client.Send(context.Background(), r.uri, bye); err != nil {
		t.Fatal(err)
	}
	r.waitState(call.StateConnected, 15*time.Second)
	r.console.Hangup()
	if ended := r.waitState(call.StateEnded, 10*time.Second); ended.Reason != call.EndHangup {
		t.Fatalf("call ended with %v, want %v: a stranger's BYE was obeyed", ended.Reason, call.EndHangup)
	}
}

// TestCallDoesNotBlockTheConsole: while the engine makes the OFFER (devices
// opened, SDP made: slow here on purpose), the UI's reads return and
// another patient's READY is recorded and ACKed.
func TestCallDoesNotBlockTheConsole(t *testing.T) {
	r := newRig(t)
	const addr, other = "first@sbx", "second@sbx"
	r.addPatient(simpatient.Config{Address: addr})
	r.waitPatient(addr, waitingroom.StateWaiting, 5*time.Second)
	gate := make(chan struct{})
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	t.Cleanup(release)
	dialing := make(chan struct{})
	dial := r.console.dialer
	r.console.dialer = func(peer string, out call.Signaller) (*call.Session, error) {
		close(dialing)
		<-gate
		return dial(peer, out)
	}
	called := make(chan error, 1)
	go func() { called <- r.console.Call(addr) }()
	<-dialing
	if err := r.console.Call(other); !errors.Is(err, ErrBusy) {
		t.Errorf("a second Call while the first dials returned %v, want ErrBusy", err)
	}
	read := make(chan struct{})
	go func() { r.console.Frame(); r.console.Hangup(); close(read) }()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("Frame and Hangup waited for the OFFER to be made")
	}
	_, events := r.addPatient(simpatient.Config{Address: other})
	waitPatientEvent(t, events, simpatient.EventAcked, 5*time.Second)
	release()
	if err := <-called; err != nil {
		t.Fatal(err)
	}
	r.waitState(call.StateConnected, 15*time.Second)
}

// TestCloseDuringAReadyBurst: Close while READYs pour in stops taking them,
// sends what was queued, and leaves no goroutine of the console behind
// (before, READYs arriving during shutdown added ACK goroutines to a
// WaitGroup that shutdown was already waiting on, and they could outlive it).
func TestCloseDuringAReadyBurst(t *testing.T) {
	r := newRig(t)
	sink := newAckSink(t, 1)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range 10 {
			// Each READY burst may be refused once the endpoint closes.
			r.sendReadies(sink, 50, i)
		}
	}()
	<-sink.all // the first ACK is out: the console is busy
	if err := r.console.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	<-sent
	if stacks := consoleGoroutines(); stacks != "" {
		t.Fatalf("goroutines of the console left after Close:\n%s", stacks)
	}
}

// consoleGoroutines returns the stacks of the goroutines running the
// console's own code, or "".
func consoleGoroutines() string {
	buf := make([]byte, 1<<20)
	var left []string
	for _, g := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		if strings.Contains(g, "teleconsole/app.(*Console)") && !strings.Contains(g, "TestCloseDuringAReadyBurst") {
			left = append(left, g)
		}
	}
	return strings.Join(left, "\n\n")
}

// TestReadyAdmittedBehindAnEarlierBye: the endpoint records a READY in the
// room when it arrives, which may be while an earlier BYE of the same
// patient (they left the waiting room and came back) is still queued. The
// console handles the two in their order, so the patient ends up waiting,
// and ACKed, not listed as left after their READY was taken.
func TestReadyAdmittedBehindAnEarlierBye(t *testing.T) {
	r := newRig(t)
	first, again := newAckSink(t, 1), newAckSink(t, 1)
	const addr = "backagain@sbx"
	inbound := func(sink *ackSink, build func(b *uhiclient.Builder) (*uhiclient.Envelope, error)) *uhiclient.Inbound {
		t.Helper()
		b, err := uhiclient.NewBuilder(uhiclient.Identity{
			Self: uhiclient.Person{Cred: addr}, Peer: uhiclient.Person{Cred: testDoctor},
			ConsumerID: "eua", ConsumerURI: sink.uri, ProviderURI: r.uri, TransactionID: "t-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		env, err := build(b)
		if err != nil {
			t.Fatal(err)
		}
		body, err := uhiclient.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		in, err := uhiclient.Decode(body)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	ready := func(b *uhiclient.Builder) (*uhiclient.Envelope, error) { return b.Ready() }
	bye := func(b *uhiclient.Builder) (*uhiclient.Envelope, error) { return b.Bye("") }

	// The patient is in the room, waiting.
	in := inbound(first, ready)
	if err := r.console.admit(in); err != nil {
		t.Fatal(err)
	}
	r.console.handle(in)
	<-first.all
	// Their BYE is queued; their READY arrives and is admitted; then the
	// console handles both, in order, as its inbound loop does.
	left, back := inbound(again, bye), inbound(again, ready)
	if err := r.console.admit(left); err != nil {
		t.Fatal(err)
	}
	if err := r.console.admit(back); err != nil {
		t.Fatal(err)
	}
	r.console.handle(left)
	r.console.handle(back)
	if p, ok := r.console.room.Get(addr); !ok || p.State != waitingroom.StateWaiting {
		t.Fatalf("after BYE then READY the room has %+v; want them waiting", p)
	}
	select {
	case <-again.all:
	case <-time.After(30 * time.Second):
		t.Fatal("the READY after the BYE was never ACKed")
	}
}

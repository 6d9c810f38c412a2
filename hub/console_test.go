package hub

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"teleconsole/app"
	"teleconsole/call"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// These tests run whole consoles (app.Console) through the hub, each on its
// own Link, against simulated patients that post to the hub's URL.

func testMedia() []call.Option {
	return []call.Option{
		call.WithMedia(call.MediaSynthetic), call.WithICEServers(nil), call.WithLoopback(true),
		call.WithPlayback(false), call.WithVideo(320, 240, 15),
	}
}

// console starts the doctor's console on a link to the rig's hub.
func (r *rig) console(d Doctor) *app.Console {
	r.t.Helper()
	c, _ := r.consoleLink(d)
	return c
}

// consoleLink is console, with the console's link.
func (r *rig) consoleLink(d Doctor) (*app.Console, *Link) {
	r.t.Helper()
	l := r.dial(d)
	c, err := app.New(app.Config{
		Doctor:    uhiclient.Person{Name: "Dr " + d.User, Cred: d.Address},
		Transport: l,
		Engine:    testMedia(),
		Log:       r.log.With("console", d.Address),
	})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := c.Start(nil); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			r.t.Errorf("Close: %v", err)
		}
		l.Disconnect()
	})
	return c, l
}

// patient runs a simulated patient of doctor, posting to the hub at hubURI,
// who READYs every 200 ms until ACKed.
func (r *rig) patient(addr, doctor, hubURI string) (*simpatient.Patient, <-chan simpatient.Event) {
	r.t.Helper()
	return r.patientEvery(addr, doctor, hubURI, 200*time.Millisecond)
}

// patientEvery is patient, READYing every interval.
func (r *rig) patientEvery(addr, doctor, hubURI string, interval time.Duration) (*simpatient.Patient, <-chan simpatient.Event) {
	r.t.Helper()
	engine, err := call.New(append(testMedia(), call.WithLogger(r.log.With("patient", addr)))...)
	if err != nil {
		r.t.Fatal(err)
	}
	client, err := uhiclient.NewClient(uhiclient.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond))
	if err != nil {
		r.t.Fatal(err)
	}
	events := make(chan simpatient.Event, 256)
	p, err := simpatient.New(simpatient.Config{Name: addr, Address: addr, Doctor: doctor, ConsoleURI: hubURI,
		ReadyInterval: interval}, engine, client,
		simpatient.WithLogger(r.log.With("patient", addr)),
		simpatient.WithEvents(func(e simpatient.Event) {
			select {
			case events <- e:
			default:
			}
		}))
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	r.t.Cleanup(func() { cancel(); <-done })
	return p, events
}

func waitListed(t *testing.T, c *app.Console, addr string, want waitingroom.State) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, p := range c.Patients() {
			if p.Address == addr && p.State == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never %s; room %+v", addr, want, c.Patients())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitEvent(t *testing.T, events <-chan simpatient.Event, kind simpatient.EventKind) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-events:
			if e.Kind == kind {
				return
			}
		case <-timeout:
			t.Fatalf("the patient never reported event kind %d", kind)
		}
	}
}

func waitCall(t *testing.T, c *app.Console, want call.State) call.StateEvent {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case ev := <-c.Events():
			if se, ok := ev.(call.StateEvent); ok && se.State == want {
				return se
			}
		case <-timeout:
			t.Fatalf("the console never reported %s", want)
		}
	}
}

func TestTwoConsolesBehindOneHub(t *testing.T) {
	r := newRig(t)
	h := r.addHub(nil, nil)
	hubURI := h.srv.URL + "/api/v1"
	ca, cb := r.console(testDoctors()[0]), r.console(testDoctors()[1])
	r.waitOnline(doctorA)
	r.waitOnline(doctorB)
	const pa, pb = "manishkahane@sbx", "meera@sbx"
	patA, evA := r.patient(pa, doctorA, hubURI)
	_, evB := r.patient(pb, doctorB, hubURI)

	// Each patient is ACKed by, and listed on, their own doctor's console
	// only.
	waitEvent(t, evA, simpatient.EventAcked)
	waitEvent(t, evB, simpatient.EventAcked)
	waitListed(t, ca, pa, waitingroom.StateWaiting)
	waitListed(t, cb, pb, waitingroom.StateWaiting)
	for _, c := range []struct {
		console  *app.Console
		stranger string
	}{{ca, pb}, {cb, pa}} {
		if slices.ContainsFunc(c.console.Patients(), func(p waitingroom.Patient) bool { return p.Address == c.stranger }) {
			t.Errorf("%s is listed on another doctor's console", c.stranger)
		}
	}

	// A full call through the hub: OFFER, ANSWER and candidates over
	// NATS and the hub, media peer to peer.
	if err := ca.Call(pa); err != nil {
		t.Fatal(err)
	}
	waitCall(t, ca, call.StateConnected)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, seq := ca.Frame()
		if seq >= 10 && patA.SessionFramesDecoded() >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("frames decoded: doctor %d, patient %d; want 10 each", seq, patA.SessionFramesDecoded())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ca.Hangup()
	if ended := waitCall(t, ca, call.StateEnded); ended.Reason != call.EndHangup {
		t.Errorf("call ended with %v", ended.Reason)
	}
	waitEvent(t, evA, simpatient.EventBye)
}

func TestConsoleWithoutHubFailsToStart(t *testing.T) {
	// A console whose doctor the hub does not know cannot start: it would
	// wait for messages that never come.
	r := newRig(t)
	r.addHub(nil, nil)
	l, err := Dial(LinkConfig{URL: r.url, Doctor: "stranger@hpr.ndhm", Options: []nats.Option{nats.UserInfo("hub", hubPass)}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Disconnect()
	err = l.Start(nil)
	if err == nil {
		t.Fatal("a link started for a doctor the hub does not know")
	}
	if !errors.Is(err, ErrNotRegistered) {
		t.Errorf("start: %v; want %v", err, ErrNotRegistered)
	}
}

func TestConsoleRestartedGetsWhatArrived(t *testing.T) {
	// A console killed (its connection gone, nothing acknowledged or
	// closed) and started again within the offline limit lists the
	// patient who arrived meanwhile.
	r := newRig(t)
	h := r.addHub(nil, nil)
	hubURI := h.srv.URL + "/api/v1"
	first, link := r.consoleLink(testDoctors()[0])
	r.waitOnline(doctorA)
	const early, meanwhile = "early@sbx", "meanwhile@sbx"
	_, evEarly := r.patient(early, doctorA, hubURI)
	waitEvent(t, evEarly, simpatient.EventAcked)
	waitListed(t, first, early, waitingroom.StateWaiting)

	link.Disconnect() // killed: the process is gone
	// One READY, taken by the hub while no console runs; the next would
	// come a minute later, so the console lists the one held for it.
	_, evMeanwhile := r.patientEvery(meanwhile, doctorA, hubURI, time.Minute)
	waitEvent(t, evMeanwhile, simpatient.EventReadySent)
	again := r.console(testDoctors()[0])
	waitListed(t, again, meanwhile, waitingroom.StateWaiting)
	waitEvent(t, evMeanwhile, simpatient.EventAcked)
}

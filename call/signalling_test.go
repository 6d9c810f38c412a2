package call

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/pion/transport/v4/test"
)

// TestCandidatesBeforeAnswer holds the patient's ANSWER back so its
// candidates reach the doctor first (docs/protocol.md §3: HTTP
// reorders). The doctor must hold them and still connect.
func TestCandidatesBeforeAnswer(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	c.toDoctor.delay = func(s Signal) time.Duration {
		if s.Kind == SignalAnswer {
			return 400 * time.Millisecond
		}
		return 0
	}
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	ps := c.patientSession(5 * time.Second)
	waitFrames(t, ds, 5, 10*time.Second)
	waitFrames(t, ps, 5, 10*time.Second)

	order := c.toDoctor.order()
	first := slices.Index(order, SignalCandidate)
	answer := slices.Index(order, SignalAnswer)
	if first < 0 || answer < 0 || first > answer {
		t.Fatalf("delivery order to doctor %v: want a CANDIDATE before the ANSWER", order)
	}
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestConnectsOnPatientChecks never delivers the patient's candidates: the
// doctor connects on the peer-reflexive candidate it learns from the
// patient's connectivity checks, as it must when the patients' app posts its
// candidates late. (How soon is measured by BenchmarkCallSetupLateCandidates.)
func TestConnectsOnPatientChecks(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	c.toDoctor.copies = func(s Signal) int {
		if s.Kind == SignalCandidate {
			return 0
		}
		return 1
	}
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	ps := c.patientSession(5 * time.Second)
	waitFrames(t, ds, 5, 10*time.Second)
	waitFrames(t, ps, 5, 10*time.Second)
	if n := c.toDoctor.count(SignalCandidate); n == 0 {
		t.Fatal("the patient sent no candidates, so none were held back")
	}
	pair, err := ds.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		t.Fatalf("doctor's selected pair: %v, %v", pair, err)
	}
	if got := pair.Remote.Typ.String(); got != "prflx" {
		t.Errorf("doctor's selected pair %v: remote is %s, want prflx", pair, got)
	}
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestRepeatedSignals delivers every OFFER, ANSWER and CANDIDATE three
// times. The repeats are ignored and the call works (§3: a repeated
// OFFER/ANSWER for a live session is ignored).
func TestRepeatedSignals(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	three := func(s Signal) int {
		if s.Kind == SignalBye {
			return 1
		}
		return 3
	}
	c.toDoctor.copies, c.toPatient.copies = three, three
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	ps := c.patientSession(5 * time.Second)
	c.patientRec.waitState(t, StateConnected, 15*time.Second)
	waitFrames(t, ds, 5, 10*time.Second)
	waitFrames(t, ps, 5, 10*time.Second)

	// A repeated ANSWER handed straight to the live session is a no-op.
	if err := ds.Handle(Signal{Kind: SignalAnswer, Description: ps.pc.LocalDescription()}); err != nil {
		t.Errorf("repeated ANSWER: %v", err)
	}
	// The patient sent exactly one ANSWER despite three OFFERs.
	if n := c.toDoctor.count(SignalAnswer); n != 1 {
		t.Errorf("patient sent %d ANSWERs, want 1", n)
	}
	if got := c.doctorRec.stateList(); slices.Contains(got, StateEnded) || slices.Contains(got, StateReconnecting) {
		t.Errorf("doctor states %v after repeats", got)
	}
	ps.Hangup()
	if end := c.doctorRec.waitState(t, StateEnded, 5*time.Second); end.Reason != EndRemoteBye {
		t.Errorf("doctor reason = %v, want %v", end.Reason, EndRemoteBye)
	}
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestDeclined: the patient answers the OFFER with BYE.
func TestDeclined(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	c.onOffer = func(Signal) bool {
		go func() { _ = c.toDoctor.Send(t.Context(), Signal{Kind: SignalBye}) }()
		return true
	}
	ds := c.dial()
	end := c.doctorRec.waitState(t, StateEnded, 5*time.Second)
	if end.Reason != EndDeclined {
		t.Errorf("reason = %v, want %v", end.Reason, EndDeclined)
	}
	waitDone(t, ds, 10*time.Second)
	if n := c.toPatient.count(SignalBye); n != 0 {
		t.Errorf("doctor sent %d BYE to a patient who declined", n)
	}
	if ds.Reason() != EndDeclined || ds.State() != StateEnded {
		t.Errorf("State/Reason = %v/%v", ds.State(), ds.Reason())
	}
	c.wait()
}

// TestRingTimeout: no ANSWER ever comes.
func TestRingTimeout(t *testing.T) {
	c := newCallPair(t, testEngine(t, WithRingTimeout(400*time.Millisecond)), testEngine(t))
	c.onOffer = func(Signal) bool { return true } // the patient never answers
	start := time.Now()
	ds := c.dial()
	end := c.doctorRec.waitState(t, StateEnded, 5*time.Second)
	if end.Reason != EndNoAnswer {
		t.Errorf("reason = %v, want %v", end.Reason, EndNoAnswer)
	}
	if el := time.Since(start); el < 400*time.Millisecond || el > 3*time.Second {
		t.Errorf("ended after %v, want about the 400ms ring timeout", el)
	}
	waitDone(t, ds, 10*time.Second)
	if n := c.toPatient.count(SignalBye); n != 1 {
		t.Errorf("doctor sent %d BYE after no answer, want 1 (the patient app stops ringing)", n)
	}
	c.wait()
}

// TestUnreachable: the OFFER cannot be delivered.
func TestUnreachable(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	boom := errors.New("connection refused")
	c.toPatient.fail = func(s Signal) error {
		if s.Kind == SignalOffer {
			return boom
		}
		return nil
	}
	ds := c.dial()
	end := c.doctorRec.waitState(t, StateEnded, 5*time.Second)
	if end.Reason != EndUnreachable || !errors.Is(end.Err, boom) {
		t.Errorf("end = %v (%v), want %v wrapping %v", end.Reason, end.Err, EndUnreachable, boom)
	}
	waitDone(t, ds, 10*time.Second)
	c.wait()
}

// TestPatientVanishes: the patient's network goes silent (no BYE, no DTLS
// close_notify) and signalling to it is cut. The doctor notices through ICE,
// becomes Reconnecting, sends an ICE-restart OFFER, and ends with
// EndConnectionLost within the disconnect + reconnect timeouts (0.6 s + 2 s).
func TestPatientVanishes(t *testing.T) {
	patient := testEngine(t)
	dn, silent := newDropNet(t)
	patient.testNet = dn
	c := newCallPair(t, testEngine(t), patient)
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	ps := c.patientSession(5 * time.Second)
	waitFrames(t, ds, 5, 10*time.Second)

	c.toPatient.cut.Store(true)
	c.toDoctor.cut.Store(true)
	silent.Store(true)
	gone := time.Now()

	c.doctorRec.waitState(t, StateReconnecting, 5*time.Second)
	end := c.doctorRec.waitState(t, StateEnded, 8*time.Second)
	took := time.Since(gone)
	if end.Reason != EndConnectionLost || !errors.Is(end.Err, ErrReconnectTimeout) {
		t.Errorf("end = %v (%v), want %v (%v)", end.Reason, end.Err, EndConnectionLost, ErrReconnectTimeout)
	}
	if took > 6*time.Second {
		t.Errorf("lost peer noticed after %v, want within about 3 s", took)
	}
	if n := c.toPatient.count(SignalOffer); n < 2 {
		t.Errorf("doctor sent %d OFFERs, want an ICE-restart OFFER after the first", n)
	}
	t.Logf("call ended %v after the patient vanished; doctor states %v", took, c.doctorRec.stateList())
	waitDone(t, ds, 10*time.Second)
	ps.Close(EndShutdown)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestPatientClosesWithoutBye: the patient's peer connection closes (DTLS
// close_notify reaches the doctor) but no BYE comes. The doctor ends with
// EndConnectionLost after the short grace for a trailing BYE.
func TestPatientClosesWithoutBye(t *testing.T) {
	c := newCallPair(t, testEngine(t), testEngine(t))
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	ps := c.patientSession(5 * time.Second)
	waitFrames(t, ds, 5, 10*time.Second)
	c.toDoctor.cut.Store(true)
	ps.Close(EndShutdown) // its BYE is lost with the cut pipe
	end := c.doctorRec.waitState(t, StateEnded, 5*time.Second)
	if end.Reason != EndConnectionLost || !errors.Is(end.Err, ErrPeerClosed) {
		t.Errorf("end = %v (%v), want %v (%v)", end.Reason, end.Err, EndConnectionLost, ErrPeerClosed)
	}
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestFiveCallsNoLeak runs five calls in a row between the same engines and
// checks that no goroutine outlives them and that every media source is
// closed (docs/stack.md, "mediadevices": a source opened again while its
// driver is still open deadlocks or panics). The check starts before the
// engines are made, so it covers New too: an Engine has no Close, so it
// must hold no goroutine of its own.
func TestFiveCallsNoLeak(t *testing.T) {
	defer test.CheckRoutines(t)()
	doctor, patient := testEngine(t), testEngine(t)
	for i := 0; i < 5; i++ {
		c := newCallPair(t, doctor, patient)
		ds := c.dial()
		ps := c.patientSession(10 * time.Second)
		waitFrames(t, ds, 3, 15*time.Second)
		waitFrames(t, ps, 3, 15*time.Second)
		if i%2 == 0 {
			ds.Hangup()
		} else {
			ps.Hangup()
		}
		waitDone(t, ds, 10*time.Second)
		waitDone(t, ps, 10*time.Second)
		c.wait()
		for name, e := range map[string]*Engine{"doctor": doctor, "patient": patient} {
			if n := e.liveSources.Load(); n != 0 {
				t.Fatalf("call %d: %s has %d media sources open after the call", i+1, name, n)
			}
		}
	}
	for name, e := range map[string]*Engine{"doctor": doctor, "patient": patient} {
		if n := e.openedTotal.Load(); n != 10 {
			t.Errorf("%s opened %d sources over 5 calls, want 10 (video+audio per call)", name, n)
		}
	}
}

// TestICERestartRecovers: the patient's network drops out for about a
// second; the doctor's ICE restart (a new OFFER answered through Handle on
// the patient side) brings the call back to Connected and media resumes.
func TestICERestartRecovers(t *testing.T) {
	patient := testEngine(t, WithReconnectTimeout(6*time.Second))
	dn, silent := newDropNet(t)
	patient.testNet = dn
	c := newCallPair(t, testEngine(t, WithReconnectTimeout(6*time.Second)), patient)
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnected, 15*time.Second)
	ps := c.patientSession(5 * time.Second)
	waitFrames(t, ds, 5, 10*time.Second)

	silent.Store(true)
	c.doctorRec.waitState(t, StateReconnecting, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	silent.Store(false)
	c.doctorRec.waitFor(t, "Connected again", 8*time.Second, func(states []StateEvent, _ []Stats) bool {
		n := len(states)
		return n >= 2 && states[n-2].State == StateReconnecting && states[n-1].State == StateConnected
	})
	frames := ds.FramesDecoded()
	waitFrames(t, ds, frames+10, 10*time.Second)
	if n := c.toPatient.count(SignalOffer); n < 2 {
		t.Errorf("doctor sent %d OFFERs, want an ICE-restart OFFER", n)
	}
	if n := c.toDoctor.count(SignalAnswer); n < 2 {
		t.Errorf("patient sent %d ANSWERs, want one for the restart", n)
	}
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestSetupTimeout: the ANSWER arrives but the patient's network is silent
// from the start, so ICE never connects; the call ends after the setup
// timeout instead of hanging in Connecting (docs/protocol.md §6).
func TestSetupTimeout(t *testing.T) {
	patient := testEngine(t)
	dn, silent := newDropNet(t)
	silent.Store(true)
	patient.testNet = dn
	c := newCallPair(t, testEngine(t, WithSetupTimeout(time.Second)), patient)
	ds := c.dial()
	c.doctorRec.waitState(t, StateConnecting, 5*time.Second)
	end := c.doctorRec.waitState(t, StateEnded, 5*time.Second)
	if end.Reason != EndConnectionLost || !errors.Is(end.Err, ErrSetupTimeout) {
		t.Errorf("end = %v (%v), want %v (%v)", end.Reason, end.Err, EndConnectionLost, ErrSetupTimeout)
	}
	waitDone(t, ds, 10*time.Second)
	ps := c.patientSession(time.Second)
	ps.Close(EndShutdown)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

// TestCongestionControlDrivesEncoder: GCC's target reaches the VP8 encoder
// and stays between the configured floor and ceiling.
func TestCongestionControlDrivesEncoder(t *testing.T) {
	const floor, start, ceiling = 150_000, 200_000, 350_000
	doctor := testEngine(t, WithBitrate(floor, start, ceiling))
	c := newCallPair(t, doctor, testEngine(t))
	ds := c.dial()
	ps := c.patientSession(10 * time.Second)
	c.doctorRec.waitFor(t, "GCC target applied to the encoder", 10*time.Second, func(_ []StateEvent, st []Stats) bool {
		return ds.media.applied.Load() != 0 && len(st) >= 2
	})
	applied := int(ds.media.applied.Load())
	if applied < floor || applied > ceiling {
		t.Errorf("encoder bit rate %d outside [%d, %d]", applied, floor, ceiling)
	}
	c.doctorRec.mu.Lock()
	for _, s := range c.doctorRec.stats {
		if s.TargetBitrate < floor || s.TargetBitrate > ceiling {
			t.Errorf("TargetBitrate %d outside [%d, %d]", s.TargetBitrate, floor, ceiling)
		}
	}
	c.doctorRec.mu.Unlock()
	t.Logf("encoder bit rate set to %d by GCC", applied)
	ds.Hangup()
	waitDone(t, ds, 10*time.Second)
	waitDone(t, ps, 10*time.Second)
	c.wait()
}

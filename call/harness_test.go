package call

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testLogger discards logs unless CALL_TEST_LOG is set (then stderr).
func testLogger() *slog.Logger {
	if lvl := os.Getenv("CALL_TEST_LOG"); lvl != "" {
		level := slog.LevelInfo
		if lvl == "debug" {
			level = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// testEngine is an engine on loopback with host candidates only and
// synthetic media at a small size, as the tests need.
func testEngine(t testing.TB, opts ...Option) *Engine {
	t.Helper()
	base := []Option{
		WithLoopback(true), WithICEServers(nil), WithMedia(MediaSynthetic),
		WithVideo(320, 240, 15), WithPlayback(false), WithLogger(testLogger()),
		WithDisconnectTimeout(600 * time.Millisecond), WithReconnectTimeout(2 * time.Second),
		WithSetupTimeout(10 * time.Second), WithSignalTimeout(2 * time.Second),
	}
	e, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// pipe is one direction of an in-memory signalling channel. Each message is
// delivered on its own goroutine, so order is not guaranteed (as with HTTP);
// hooks can delay, duplicate, fail or cut delivery.
type pipe struct {
	deliver func(Signal)
	delay   func(Signal) time.Duration
	copies  func(Signal) int
	fail    func(Signal) error
	cut     atomic.Bool
	wg      sync.WaitGroup

	mu        sync.Mutex
	sent      map[SignalKind]int
	delivered []SignalKind
}

func newPipe() *pipe { return &pipe{sent: map[SignalKind]int{}} }

func (p *pipe) Send(_ context.Context, s Signal) error {
	if p.fail != nil {
		if err := p.fail(s); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.sent[s.Kind]++
	p.mu.Unlock()
	n := 1
	if p.copies != nil {
		n = p.copies(s)
	}
	var d time.Duration
	if p.delay != nil {
		d = p.delay(s)
	}
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if d > 0 {
				time.Sleep(d)
			}
			if p.cut.Load() {
				return
			}
			p.mu.Lock()
			p.delivered = append(p.delivered, s.Kind)
			p.mu.Unlock()
			p.deliver(s)
		}()
	}
	return nil
}

func (p *pipe) count(k SignalKind) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sent[k]
}

func (p *pipe) order() []SignalKind {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]SignalKind(nil), p.delivered...)
}

// callPair joins a doctor engine and a patient engine in one process. The
// patient side plays the wire adapter's part: it creates the answering
// session on the first OFFER and holds candidates that overtake it.
type callPair struct {
	t               testing.TB
	doctor, patient *Engine
	toPatient       *pipe
	toDoctor        *pipe
	onOffer         func(Signal) bool // returns true if it handled the OFFER itself
	mu              sync.Mutex
	ds, ps          *Session
	dready, pready  chan struct{}
	heldForPatient  []Signal
	doctorRec       *recorder
	patientRec      *recorder
	patientRecReady chan struct{}
}

func newCallPair(t testing.TB, doctor, patient *Engine) *callPair {
	c := &callPair{
		t: t, doctor: doctor, patient: patient,
		toPatient: newPipe(), toDoctor: newPipe(),
		dready: make(chan struct{}), pready: make(chan struct{}), patientRecReady: make(chan struct{}),
	}
	c.toPatient.deliver = c.patientSide
	c.toDoctor.deliver = c.doctorSide
	return c
}

func (c *callPair) dial() *Session {
	c.t.Helper()
	ds, err := c.doctor.Dial("patient@sbx", c.toPatient)
	if err != nil {
		c.t.Fatalf("Dial: %v", err)
	}
	c.ds = ds
	c.doctorRec = watch(ds)
	close(c.dready)
	return ds
}

func (c *callPair) doctorSide(s Signal) {
	<-c.dready
	if err := c.ds.Handle(s); err != nil && err != ErrEnded {
		c.t.Logf("doctor Handle(%v): %v", s.Kind, err)
	}
}

func (c *callPair) patientSide(s Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ps == nil {
		switch s.Kind {
		case SignalOffer:
			if c.onOffer != nil && c.onOffer(s) {
				return
			}
			ps, err := c.patient.Answer("doctor@hpr", *s.Description, c.toDoctor)
			if err != nil {
				c.t.Errorf("Answer: %v", err)
				return
			}
			c.ps = ps
			c.patientRec = watch(ps)
			close(c.patientRecReady)
			for _, h := range c.heldForPatient {
				if err := ps.Handle(h); err != nil {
					c.t.Logf("patient Handle(held %v): %v", h.Kind, err)
				}
			}
			c.heldForPatient = nil
		case SignalCandidate:
			c.heldForPatient = append(c.heldForPatient, s)
		}
		return
	}
	if err := c.ps.Handle(s); err != nil && err != ErrEnded {
		c.t.Logf("patient Handle(%v): %v", s.Kind, err)
	}
}

// patientSession waits for the answering session.
func (c *callPair) patientSession(timeout time.Duration) *Session {
	c.t.Helper()
	select {
	case <-c.patientRecReady:
	case <-time.After(timeout):
		c.t.Fatalf("no patient session after %v", timeout)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ps
}

// wait waits for the pipes to stop delivering.
func (c *callPair) wait() {
	c.toPatient.wg.Wait()
	c.toDoctor.wg.Wait()
}

// recorder collects a session's events.
type recorder struct {
	mu     sync.Mutex
	states []StateEvent
	stats  []Stats
	paths  []Path // from PathEvents
	change chan struct{}
	closed chan struct{}
}

func watch(s *Session) *recorder {
	r := &recorder{change: make(chan struct{}, 1), closed: make(chan struct{})}
	go func() {
		defer close(r.closed)
		for ev := range s.Events() {
			r.mu.Lock()
			switch ev := ev.(type) {
			case StateEvent:
				r.states = append(r.states, ev)
			case StatsEvent:
				r.stats = append(r.stats, ev.Stats)
			case PathEvent:
				r.paths = append(r.paths, ev.Path)
			}
			r.mu.Unlock()
			select {
			case r.change <- struct{}{}:
			default:
			}
		}
	}()
	return r
}

// waitFor polls cond on every event and every 50 ms until timeout.
func (r *recorder) waitFor(t testing.TB, what string, timeout time.Duration, cond func(states []StateEvent, stats []Stats) bool) {
	t.Helper()
	deadline := time.After(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		r.mu.Lock()
		ok := cond(r.states, r.stats)
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.change:
		case <-tick.C:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("timed out after %v waiting for %s; states %v", timeout, what, r.states)
		}
	}
}

func (r *recorder) waitState(t testing.TB, st State, timeout time.Duration) StateEvent {
	t.Helper()
	var got StateEvent
	r.waitFor(t, "state "+st.String(), timeout, func(states []StateEvent, _ []Stats) bool {
		for _, e := range states {
			if e.State == st {
				got = e
				return true
			}
		}
		return false
	})
	return got
}

// pathList returns the selected pairs reported so far, in order.
func (r *recorder) pathList() []Path {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Path(nil), r.paths...)
}

func (r *recorder) stateList() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []State
	for _, e := range r.states {
		out = append(out, e.State)
	}
	return out
}

func waitFrames(t testing.TB, s *Session, n uint64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for s.FramesDecoded() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s decoded %d frames, want %d within %v", s.Peer(), s.FramesDecoded(), n, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitDone(t testing.TB, s *Session, timeout time.Duration) {
	t.Helper()
	select {
	case <-s.Done():
	case <-time.After(timeout):
		t.Fatalf("%s: session not done after %v (state %v)", s.Peer(), timeout, s.State())
	}
}

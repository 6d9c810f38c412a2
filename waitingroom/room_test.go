package waitingroom

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newRoom(t *testing.T, c *clock, opts ...Option) *Room {
	t.Helper()
	r, err := New(append([]Option{WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func ready(t *testing.T, r *Room, addr string) bool {
	t.Helper()
	ack, err := r.Ready(Patient{Address: addr, Name: "Name " + addr, TransactionID: "tx-" + addr,
		ConsumerID: "eua", ConsumerURI: "http://eua.example/api"})
	if err != nil {
		t.Fatalf("Ready(%s): %v", addr, err)
	}
	return ack
}

func state(t *testing.T, r *Room, addr string) State {
	t.Helper()
	p, ok := r.Get(addr)
	if !ok {
		t.Fatalf("Get(%s): not found", addr)
	}
	return p.State
}

// toState drives a fresh patient "p" into s through the public transitions.
func toState(t *testing.T, r *Room, s State) {
	t.Helper()
	ready(t, r, "p")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("driving to %s: %v", s, err)
		}
	}
	switch s {
	case StateWaiting:
	case StateCalling:
		must(r.Calling("p"))
	case StateInCall:
		must(r.Calling("p"))
		must(r.Answered("p"))
	case StateDone, StateNoAnswer, StateLost, StateUnreachable:
		must(r.Calling("p"))
		must(r.Ended("p", s, "why"))
	case StateLeft:
		must(r.Left("p"))
	default:
		t.Fatalf("cannot drive to %s", s)
	}
	if got := state(t, r, "p"); got != s {
		t.Fatalf("driven to %s, got %s", s, got)
	}
}

func TestTransitions(t *testing.T) {
	calling := func(r *Room) error { return r.Calling("p") }
	answered := func(r *Room) error { return r.Answered("p") }
	left := func(r *Room) error { return r.Left("p") }
	heard := func(r *Room) error { return r.Heard("p") }
	rejoined := func(r *Room) error { return r.Rejoined("p") }
	ended := func(s State) func(r *Room) error {
		return func(r *Room) error { return r.Ended("p", s, "note") }
	}
	tests := []struct {
		from State
		op   string
		do   func(*Room) error
		want State
		err  error
	}{
		{StateWaiting, "calling", calling, StateCalling, nil},
		{StateDone, "calling", calling, StateCalling, nil},
		{StateNoAnswer, "calling", calling, StateCalling, nil},
		{StateLost, "calling", calling, StateCalling, nil},
		{StateUnreachable, "calling", calling, StateCalling, nil},
		{StateCalling, "calling", calling, StateCalling, ErrNotWaiting},
		{StateInCall, "calling", calling, StateInCall, ErrNotWaiting},
		{StateLeft, "calling", calling, StateLeft, ErrNotWaiting},

		{StateCalling, "answered", answered, StateInCall, nil},
		{StateInCall, "answered", answered, StateInCall, nil},
		{StateWaiting, "answered", answered, StateWaiting, ErrNotCalling},
		{StateDone, "answered", answered, StateDone, ErrNotCalling},
		{StateLeft, "answered", answered, StateLeft, ErrNotCalling},

		{StateCalling, "ended no answer", ended(StateNoAnswer), StateNoAnswer, nil},
		{StateCalling, "ended unreachable", ended(StateUnreachable), StateUnreachable, nil},
		{StateCalling, "ended left", ended(StateLeft), StateLeft, nil},
		{StateInCall, "ended done", ended(StateDone), StateDone, nil},
		{StateInCall, "ended lost", ended(StateLost), StateLost, nil},
		{StateInCall, "ended waiting", ended(StateWaiting), StateInCall, ErrBadOutcome},
		{StateInCall, "ended in call", ended(StateInCall), StateInCall, ErrBadOutcome},
		{StateWaiting, "ended done", ended(StateDone), StateWaiting, ErrNotInCall},
		{StateDone, "ended done", ended(StateDone), StateDone, ErrNotInCall},

		{StateWaiting, "left", left, StateLeft, nil},
		{StateDone, "left", left, StateLeft, nil},
		{StateNoAnswer, "left", left, StateLeft, nil},
		{StateLeft, "left", left, StateLeft, nil},
		{StateCalling, "left", left, StateCalling, ErrInCall},
		{StateInCall, "left", left, StateInCall, ErrInCall},

		{StateWaiting, "heard", heard, StateWaiting, nil},
		{StateInCall, "heard", heard, StateInCall, nil},
		{StateLeft, "heard", heard, StateLeft, nil},

		{StateInCall, "rejoined", rejoined, StateWaiting, nil},
		{StateCalling, "rejoined", rejoined, StateCalling, ErrNotInCall},
		{StateWaiting, "rejoined", rejoined, StateWaiting, ErrNotInCall},
		{StateDone, "rejoined", rejoined, StateDone, ErrNotInCall},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.from, tt.op), func(t *testing.T) {
			r := newRoom(t, newClock())
			toState(t, r, tt.from)
			err := tt.do(r)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if got := state(t, r, "p"); got != tt.want {
				t.Fatalf("state = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestUnknownPatient(t *testing.T) {
	r := newRoom(t, newClock())
	for name, do := range map[string]func() error{
		"heard":    func() error { return r.Heard("x") },
		"calling":  func() error { return r.Calling("x") },
		"answered": func() error { return r.Answered("x") },
		"rejoined": func() error { return r.Rejoined("x") },
		"ended":    func() error { return r.Ended("x", StateDone, "") },
		"left":     func() error { return r.Left("x") },
	} {
		if err := do(); !errors.Is(err, ErrUnknownPatient) {
			t.Errorf("%s: err = %v, want ErrUnknownPatient", name, err)
		}
	}
	if _, ok := r.Get("x"); ok {
		t.Error("Get found an unknown patient")
	}
	if _, err := r.Ready(Patient{Name: "no address"}); !errors.Is(err, ErrNoAddress) {
		t.Errorf("Ready without address: err = %v", err)
	}
}

func TestReadyACKPolicy(t *testing.T) {
	tests := []struct {
		from     State
		ack      bool
		want     State
		requeued bool
	}{
		{StateWaiting, true, StateWaiting, false},
		{StateCalling, false, StateCalling, false},
		{StateInCall, true, StateInCall, false}, // ACKed so the app stops polling; the call is judged elsewhere
		{StateDone, true, StateWaiting, true},
		{StateNoAnswer, true, StateWaiting, true},
		{StateLost, true, StateWaiting, true},
		{StateUnreachable, true, StateWaiting, true},
		{StateLeft, true, StateWaiting, true},
	}
	for _, tt := range tests {
		t.Run(tt.from.String(), func(t *testing.T) {
			c := newClock()
			r := newRoom(t, c)
			toState(t, r, tt.from)
			before, _ := r.Get("p")
			c.Advance(time.Minute)
			if ack := ready(t, r, "p"); ack != tt.ack {
				t.Errorf("ack = %v, want %v", ack, tt.ack)
			}
			p, _ := r.Get("p")
			if p.State != tt.want {
				t.Errorf("state = %s, want %s", p.State, tt.want)
			}
			if !p.LastHeard.Equal(c.Now()) {
				t.Errorf("LastHeard = %v, want now %v", p.LastHeard, c.Now())
			}
			if requeued := p.Seq != before.Seq; requeued != tt.requeued {
				t.Errorf("requeued = %v, want %v", requeued, tt.requeued)
			}
			if tt.requeued {
				if !p.FirstHeard.Equal(c.Now()) || p.Note != "" {
					t.Errorf("requeued patient: FirstHeard %v Note %q; want now and empty", p.FirstHeard, p.Note)
				}
			} else if !p.FirstHeard.Equal(before.FirstHeard) {
				t.Errorf("FirstHeard moved from %v to %v", before.FirstHeard, p.FirstHeard)
			}
		})
	}
}

func TestReadyAfterCall(t *testing.T) {
	c := newClock()
	r := newRoom(t, c)
	ready(t, r, "a")
	c.Advance(time.Second)
	ready(t, r, "b")
	c.Advance(time.Second)
	ready(t, r, "c")

	if err := r.Calling("a"); err != nil {
		t.Fatal(err)
	}
	if err := r.Answered("a"); err != nil {
		t.Fatal(err)
	}
	c.Advance(5 * time.Minute)
	if err := r.Ended("a", StateDone, "ended by doctor"); err != nil {
		t.Fatal(err)
	}
	if p, _ := r.Get("a"); p.State != StateDone || p.Note != "ended by doctor" {
		t.Fatalf("after call: %s %q", p.State, p.Note)
	}
	c.Advance(time.Minute)
	// The patient re-opens the waiting room with a new booking.
	ack, err := r.Ready(Patient{Address: "a", Name: "Asha Rao", TransactionID: "tx-2"})
	if err != nil || !ack {
		t.Fatalf("Ready after call: ack %v err %v", ack, err)
	}
	p, _ := r.Get("a")
	if p.State != StateWaiting || !p.FirstHeard.Equal(c.Now()) || p.TransactionID != "tx-2" ||
		p.Name != "Asha Rao" || p.ConsumerURI != "http://eua.example/api" {
		t.Fatalf("after new READY: %+v", p)
	}
	if got := addrs(r.Patients()); got != "b c a" {
		t.Fatalf("order = %q, want %q", got, "b c a")
	}
}

func addrs(ps []Patient) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += " "
		}
		s += p.Address
	}
	return s
}

func TestArrivalOrder(t *testing.T) {
	c := newClock()
	r := newRoom(t, c)
	for _, a := range []string{"z", "m", "a", "q"} {
		ready(t, r, a)
		// Repeated READYs refresh but never reorder a waiting patient.
		ready(t, r, "z")
	}
	ps := r.Patients()
	if got := addrs(ps); got != "z m a q" {
		t.Fatalf("order = %q", got)
	}
	for i := 1; i < len(ps); i++ {
		if ps[i].Seq <= ps[i-1].Seq {
			t.Fatalf("Seq not increasing: %d then %d", ps[i-1].Seq, ps[i].Seq)
		}
	}
	// The snapshot is a copy.
	ps[0].Name = "changed"
	if p, _ := r.Get("z"); p.Name == "changed" {
		t.Fatal("snapshot aliases room state")
	}
}

func TestPresence(t *testing.T) {
	c := newClock()
	r := newRoom(t, c, WithPresenceTimeout(10*time.Minute))
	ready(t, r, "quiet")
	ready(t, r, "chatty")
	ready(t, r, "busy")
	ready(t, r, "failed")
	if err := r.Calling("busy"); err != nil {
		t.Fatal(err)
	}
	if err := r.Calling("failed"); err != nil {
		t.Fatal(err)
	}
	if err := r.Ended("failed", StateNoAnswer, "no answer"); err != nil {
		t.Fatal(err)
	}
	c.Advance(6 * time.Minute)
	if err := r.Heard("chatty"); err != nil {
		t.Fatal(err)
	}
	c.Advance(5 * time.Minute)
	if got := r.Expire(); fmt.Sprint(got) != "[quiet failed]" {
		t.Fatalf("Expire = %v", got)
	}
	for addr, want := range map[string]State{
		"quiet": StateLeft, "chatty": StateWaiting, "busy": StateCalling, "failed": StateLeft,
	} {
		if got := state(t, r, addr); got != want {
			t.Errorf("%s: %s, want %s", addr, got, want)
		}
	}
	if p, _ := r.Get("quiet"); p.Note == "" {
		t.Error("expired patient has no note")
	}
	if err := r.Calling("quiet"); !errors.Is(err, ErrNotWaiting) {
		t.Errorf("calling an expired patient: %v", err)
	}
	// Expiry is also computed on read, without calling Expire.
	c.Advance(10 * time.Minute)
	if got := state(t, r, "chatty"); got != StateLeft {
		t.Errorf("chatty after silence: %s", got)
	}
	if got := r.Expire(); len(got) != 0 {
		t.Errorf("second Expire = %v, want none", got)
	}
	// Coming back is a new visit.
	if !ready(t, r, "quiet") || state(t, r, "quiet") != StateWaiting {
		t.Error("expired patient could not come back")
	}
}

func TestCapacity(t *testing.T) {
	c := newClock()
	r := newRoom(t, c, WithCapacity(3))
	ready(t, r, "a")
	ready(t, r, "b")
	ready(t, r, "c")
	if _, err := r.Ready(Patient{Address: "d"}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("Ready into a full room of waiting patients: %v", err)
	}
	// A known patient can always refresh.
	if !ready(t, r, "b") {
		t.Fatal("refresh in a full room not ACKed")
	}
	// Finish b then a (a heard from least recently): a is evicted first.
	for _, x := range []string{"b", "a"} {
		if err := r.Calling(x); err != nil {
			t.Fatal(err)
		}
		if err := r.Ended(x, StateUnreachable, ""); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(time.Second)
	ready(t, r, "d")
	if got := addrs(r.Patients()); got != "b c d" {
		t.Fatalf("after eviction: %q", got)
	}
	c.Advance(time.Second)
	ready(t, r, "e")
	if got := addrs(r.Patients()); got != "c d e" || r.Len() != 3 {
		t.Fatalf("after second eviction: %q", got)
	}
}

func TestReadyFloodBounded(t *testing.T) {
	c := newClock()
	r := newRoom(t, c, WithCapacity(50), WithPresenceTimeout(time.Minute))
	full := 0
	for i := range 10000 {
		c.Advance(time.Second)
		if _, err := r.Ready(Patient{Address: fmt.Sprintf("p%d", i)}); errors.Is(err, ErrRoomFull) {
			full++
		}
		if r.Len() > 50 {
			t.Fatalf("room grew to %d", r.Len())
		}
	}
	if full == 0 {
		t.Error("flood never hit the capacity")
	}
}

func TestOptions(t *testing.T) {
	for name, o := range map[string]Option{
		"nil clock":     WithClock(nil),
		"zero presence": WithPresenceTimeout(0),
		"zero capacity": WithCapacity(0),
	} {
		if _, err := New(o); !errors.Is(err, ErrBadOption) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestWaited(t *testing.T) {
	c := newClock()
	r := newRoom(t, c)
	ready(t, r, "p")
	c.Advance(3*time.Minute + 12*time.Second)
	p, _ := r.Get("p")
	if got := p.Waited(c.Now()); got != 3*time.Minute+12*time.Second {
		t.Fatalf("Waited = %v", got)
	}
	if got := (Patient{}).Waited(c.Now()); got != 0 {
		t.Fatalf("zero patient waited %v", got)
	}
}

func TestConcurrent(t *testing.T) {
	c := newClock()
	r := newRoom(t, c, WithCapacity(64))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				addr := fmt.Sprintf("p%d", (g*7+i)%40)
				_, _ = r.Ready(Patient{Address: addr, Name: addr})
				_ = r.Heard(addr)
				if r.Calling(addr) == nil {
					_ = r.Answered(addr)
					_ = r.Ended(addr, StateDone, "")
				}
				_ = r.Left(addr)
				c.Advance(time.Millisecond)
				_ = r.Patients()
				_, _ = r.Get(addr)
				_ = r.Expire()
			}
		}()
	}
	wg.Wait()
	ps := r.Patients()
	if len(ps) != 40 {
		t.Fatalf("%d patients, want 40", len(ps))
	}
	seen := map[uint64]bool{}
	for _, p := range ps {
		if seen[p.Seq] {
			t.Fatalf("duplicate Seq %d", p.Seq)
		}
		seen[p.Seq] = true
	}
}

// TestRejoinedStartsANewVisit: a patient whose call lost its connection and
// who READYs from the waiting room is waiting again, at the back of the
// queue, from now.
func TestRejoinedStartsANewVisit(t *testing.T) {
	c := newClock()
	r := newRoom(t, c)
	ready(t, r, "a")
	ready(t, r, "b")
	if err := r.Calling("a"); err != nil {
		t.Fatal(err)
	}
	if err := r.Answered("a"); err != nil {
		t.Fatal(err)
	}
	c.Advance(3 * time.Minute)
	if ack := ready(t, r, "a"); !ack {
		t.Fatal("a READY during the call was not ACKed")
	}
	if p, _ := r.Get("a"); p.State != StateInCall {
		t.Fatalf("after a READY during the call: %s, want the call kept", p.State)
	}
	if err := r.Rejoined("a"); err != nil {
		t.Fatal(err)
	}
	p, _ := r.Get("a")
	if p.State != StateWaiting || !p.FirstHeard.Equal(c.Now()) || p.Note != "" {
		t.Fatalf("after Rejoined: %+v", p)
	}
	if got := addrs(r.Patients()); got != "b a" {
		t.Fatalf("order = %q, want %q", got, "b a")
	}
}

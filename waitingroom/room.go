package waitingroom

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Room is the doctor's waiting room: every patient heard from, keyed by
// address, with their state. The zero value is not usable; create one with
// New. A Room is safe for concurrent use.
//
// Presence is computed on every read and write: a patient who is waiting, or
// whose last call finished, and who has not been heard from for the presence
// timeout becomes StateLeft. Expire does the same on demand.
type Room struct {
	now      func() time.Time
	presence time.Duration
	capacity int

	mu       sync.Mutex
	seq      uint64
	patients map[string]*Patient
}

// New returns an empty room configured by opts.
func New(opts ...Option) (*Room, error) {
	r := &Room{
		now:      time.Now,
		presence: DefaultPresenceTimeout,
		capacity: DefaultCapacity,
		patients: make(map[string]*Patient),
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Ready records a READY from the patient p and reports whether to answer it
// with an ACK. Only p's identity fields are read (Address, Name, Gender,
// TransactionID, ConsumerID, ConsumerURI); an empty field keeps the value
// already known.
//
// The ACK policy (docs/protocol.md §3):
//   - A new patient is queued at the back as waiting, and ACKed.
//   - A waiting patient is refreshed (LastHeard and identity) and ACKed again:
//     the reference app stops polling on the first ACK it receives, so a
//     repeated READY means our earlier ACK was lost, and ACKing every one is
//     both safe and needed.
//   - A patient whose last call finished (done, no answer, lost, unreachable)
//     or who left comes back for a new visit: waiting again, with a new
//     FirstHeard, queued at the back (a new Seq), the old note cleared, and
//     ACKed.
//   - A patient in a call (their ANSWER came) has LastHeard and identity
//     refreshed and is ACKed, so that their app stops polling; the state is
//     kept. Their
//     app READYs from its waiting room: either it still polls there behind
//     a call that works (it was called before an ACK reached it), or their
//     side of the call is gone (the app restarted, or they went back).
//     Telling the two apart is for whoever runs the call, which can then
//     call Rejoined.
//   - A patient being called only has LastHeard refreshed; the state is kept
//     and no ACK is sent. The READY may have crossed our OFFER, so the call
//     goes on ringing; left un-ACKed the app keeps polling, and its next
//     READY after the call ends re-queues it.
//
// Ready fails with ErrNoAddress if p has no address, and with ErrRoomFull for
// a new patient when the room is full of patients who have not finished.
func (r *Room) Ready(p Patient) (ack bool, err error) {
	if p.Address == "" {
		return false, ErrNoAddress
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.expireLocked(now)

	cur, ok := r.patients[p.Address]
	if !ok {
		if len(r.patients) >= r.capacity && !r.evictLocked() {
			return false, ErrRoomFull
		}
		cur = &Patient{Address: p.Address}
		r.patients[p.Address] = cur
		r.queueLocked(cur, now)
	}
	cur.LastHeard = now
	switch {
	case cur.State == StateCalling:
		return false, nil
	case cur.State == StateInCall:
		// Refreshed too: the READY may come from a new instance of the app,
		// which the ACK must reach.
		refresh(cur, p)
		return true, nil
	case cur.State.Finished():
		r.queueLocked(cur, now)
	}
	refresh(cur, p)
	return true, nil
}

// queueLocked puts p at the back of the queue as a waiting patient in a new
// visit.
func (r *Room) queueLocked(p *Patient, now time.Time) {
	r.seq++
	p.Seq = r.seq
	p.State = StateWaiting
	p.FirstHeard = now
	p.Note = ""
}

// refresh copies the non-empty identity fields of src into dst.
func refresh(dst *Patient, src Patient) {
	set := func(d *string, s string) {
		if s != "" {
			*d = s
		}
	}
	set(&dst.Name, src.Name)
	set(&dst.Gender, src.Gender)
	set(&dst.TransactionID, src.TransactionID)
	set(&dst.ConsumerID, src.ConsumerID)
	set(&dst.ConsumerURI, src.ConsumerURI)
}

// evictLocked removes the finished patient heard from least recently (the
// lowest Seq on a tie) and reports whether there was one.
func (r *Room) evictLocked() bool {
	var victim *Patient
	for _, p := range r.patients {
		if !p.State.Finished() {
			continue
		}
		if victim == nil || p.LastHeard.Before(victim.LastHeard) ||
			(p.LastHeard.Equal(victim.LastHeard) && p.Seq < victim.Seq) {
			victim = p
		}
	}
	if victim == nil {
		return false
	}
	delete(r.patients, victim.Address)
	return true
}

// Heard records that some message other than READY arrived from address, so
// the patient is still present. It fails with ErrUnknownPatient.
func (r *Room) Heard(address string) error {
	return r.update(address, func(p *Patient, now time.Time) error {
		p.LastHeard = now
		return nil
	})
}

// Calling records that the doctor's OFFER to the patient is out. A call may
// start from waiting, or, as a call-back, from the outcome of an earlier call
// (done, no answer, lost, unreachable) while the patient is still present:
// the doctor may retry a call that failed. It fails with ErrNotWaiting if the
// patient is already being called, in a call, or left (a patient who left
// must READY again), and with ErrUnknownPatient.
//
// The room does not enforce one call at a time across patients: the call
// engine owns that rule.
func (r *Room) Calling(address string) error {
	return r.update(address, func(p *Patient, _ time.Time) error {
		if !p.State.Callable() {
			return fmt.Errorf("call %s (%s): %w", address, p.State, ErrNotWaiting)
		}
		p.State = StateCalling
		p.Note = ""
		return nil
	})
}

// Answered records the patient's ANSWER: a patient being called is now in
// the call. A repeated ANSWER for a patient already in the call changes
// nothing and returns nil. Otherwise it fails with ErrNotCalling, or with
// ErrUnknownPatient.
func (r *Room) Answered(address string) error {
	return r.update(address, func(p *Patient, now time.Time) error {
		switch p.State {
		case StateCalling:
			p.State = StateInCall
		case StateInCall:
		default:
			return fmt.Errorf("answer from %s (%s): %w", address, p.State, ErrNotCalling)
		}
		p.LastHeard = now
		return nil
	})
}

// Ended records how the call with the patient ended: outcome is StateDone,
// StateNoAnswer, StateLost, StateUnreachable, or StateLeft (the patient hung
// up and left); note says why in words (it may be empty). It fails with
// ErrBadOutcome for any other state, with ErrNotInCall if the patient is
// neither being called nor in a call, and with ErrUnknownPatient.
func (r *Room) Ended(address string, outcome State, note string) error {
	if !outcome.Finished() {
		return fmt.Errorf("end call with %s as %s: %w", address, outcome, ErrBadOutcome)
	}
	return r.update(address, func(p *Patient, _ time.Time) error {
		if !p.State.Active() {
			return fmt.Errorf("end call with %s (%s): %w", address, p.State, ErrNotInCall)
		}
		p.State = outcome
		p.Note = note
		return nil
	})
}

// Rejoined records that a patient in a call is back in the waiting room
// (their READY came while the call had lost its connection): the call is
// over for them, and they start a new visit, waiting at the back of the
// queue. It fails with ErrNotInCall if the patient is not in a call, and
// with ErrUnknownPatient.
func (r *Room) Rejoined(address string) error {
	return r.update(address, func(p *Patient, now time.Time) error {
		if p.State != StateInCall {
			return fmt.Errorf("rejoin of %s (%s): %w", address, p.State, ErrNotInCall)
		}
		p.LastHeard = now
		r.queueLocked(p, now)
		return nil
	})
}

// Left records a BYE from the patient outside a call: they left the waiting
// room. It fails with ErrInCall if the patient is being called or in a call
// (the BYE then ends the call, which the engine reports with Ended), and
// with ErrUnknownPatient.
func (r *Room) Left(address string) error {
	return r.update(address, func(p *Patient, now time.Time) error {
		if p.State.Active() {
			return fmt.Errorf("bye from %s (%s): %w", address, p.State, ErrInCall)
		}
		p.LastHeard = now
		p.State = StateLeft
		p.Note = "left the waiting room"
		return nil
	})
}

// update runs f on the patient at address under the lock, after presence
// has been brought up to date.
func (r *Room) update(address string, f func(p *Patient, now time.Time) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.expireLocked(now)
	p, ok := r.patients[address]
	if !ok {
		return fmt.Errorf("%q: %w", address, ErrUnknownPatient)
	}
	return f(p, now)
}

// Expire marks as left every patient who is waiting, or whose last call
// finished, and who has not been heard from for the presence timeout. It
// returns their addresses in arrival order. Every other method does the
// same before it acts, so calling Expire is only needed to learn who left.
func (r *Room) Expire() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expireLocked(r.now())
}

func (r *Room) expireLocked(now time.Time) []string {
	var gone []*Patient
	for _, p := range r.patients {
		if p.State == StateLeft || !p.State.Callable() {
			continue
		}
		if now.Sub(p.LastHeard) > r.presence {
			p.State = StateLeft
			p.Note = "not heard from for " + r.presence.String()
			gone = append(gone, p)
		}
	}
	slices.SortFunc(gone, bySeq)
	addrs := make([]string, len(gone))
	for i, p := range gone {
		addrs[i] = p.Address
	}
	return addrs
}

func bySeq(a, b *Patient) int {
	switch {
	case a.Seq < b.Seq:
		return -1
	case a.Seq > b.Seq:
		return 1
	}
	return 0
}

// Patients returns a snapshot of every patient in arrival order (by Seq): a
// patient who came back for a new visit is at the back.
func (r *Room) Patients() []Patient {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked(r.now())
	ps := make([]*Patient, 0, len(r.patients))
	for _, p := range r.patients {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, bySeq)
	out := make([]Patient, len(ps))
	for i, p := range ps {
		out[i] = *p
	}
	return out
}

// Get returns a copy of the patient at address, and whether there is one.
func (r *Room) Get(address string) (Patient, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expireLocked(r.now())
	p, ok := r.patients[address]
	if !ok {
		return Patient{}, false
	}
	return *p, true
}

// Capacity returns how many patients the room holds at most.
func (r *Room) Capacity() int { return r.capacity }

// Len returns how many patients the room holds, finished ones included.
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.patients)
}

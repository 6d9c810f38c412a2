package app

import (
	"slices"
	"sync"
	"time"

	"teleconsole/call"
	"teleconsole/record"
	"teleconsole/waitingroom"
)

// qualityEvery is how often an open call's quality so far is written, so
// that a consultation a crash interrupts keeps it.
const qualityEvery = 10 * time.Second

// consultations keeps, per patient, the record of the consultation going on
// with them: one begins at the doctor's call or at a chat message before
// it, and stays theirs after the call, for the prescription sent at the
// end, until the doctor calls them again. With no store nothing is kept,
// and ids are "".
type consultations struct {
	store  *record.Store // nil: --record off
	doctor string
	now    func() time.Time

	mu     sync.Mutex
	open   map[string]string // patient address -> consultation id
	called map[string]bool   // patient address -> their consultation has had its call
}

func newConsultations(store *record.Store, doctor string) *consultations {
	return &consultations{store: store, doctor: doctor, now: time.Now, open: map[string]string{}, called: map[string]bool{}}
}

// of returns the consultation going on with p, beginning one if there is none.
func (r *consultations) of(p waitingroom.Patient) string {
	if r.store == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ofLocked(p)
}

func (r *consultations) ofLocked(p waitingroom.Patient) string {
	if id, ok := r.open[p.Address]; ok {
		return id
	}
	id := r.store.Begin(record.Patient{Address: p.Address, Name: p.Name, Gender: p.Gender, TransactionID: p.TransactionID},
		r.doctor, p.FirstHeard, r.now())
	r.open[p.Address] = id
	return id
}

// forCall returns the consultation a call to p belongs to: the one going on
// if it has had no call yet (chat came first), else a new one.
func (r *consultations) forCall(p waitingroom.Patient) string {
	if r.store == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.called[p.Address] {
		delete(r.open, p.Address)
	}
	r.called[p.Address] = true
	return r.ofLocked(p)
}

// endUncalled ends the consultations that had chat and no call, as the
// console stops: they were not interrupted. Those with a call were ended
// with it.
func (r *consultations) endUncalled(now time.Time) {
	if r.store == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for addr, id := range r.open {
		if !r.called[addr] {
			r.store.End(id, now, 0, "no call", record.Quality{})
		}
	}
}

// callMeter sums up one call's quality from its events.
type callMeter struct {
	dialled, connected time.Time
	rtts               []time.Duration
	loss               float64
	in, out            int64
	samples            int
	audioOnly          time.Duration
	lastSample         time.Time
	reconnects         int
	wasConnected       bool
	lastWrite          time.Time
}

func (m *callMeter) state(ev call.StateEvent, now time.Time) {
	switch ev.State {
	case call.StateConnected:
		if m.connected.IsZero() {
			m.connected = now
		}
		m.wasConnected = true
	case call.StateReconnecting:
		if m.wasConnected {
			m.reconnects++
		}
	}
}

func (m *callMeter) stats(s call.Stats) {
	if s.RTT > 0 {
		m.rtts = append(m.rtts, s.RTT)
	}
	m.loss += s.LossPercent
	m.in += int64(s.BitrateIn)
	m.out += int64(s.BitrateOut)
	m.samples++
	if s.AudioOnly && !m.lastSample.IsZero() {
		m.audioOnly += s.At.Sub(m.lastSample)
	}
	m.lastSample = s.At
}

func (m *callMeter) quality() record.Quality {
	var q record.Quality
	if !m.connected.IsZero() && !m.dialled.IsZero() {
		q.Setup = m.connected.Sub(m.dialled)
	}
	if len(m.rtts) > 0 {
		r := slices.Clone(m.rtts)
		slices.Sort(r)
		q.RTTMedian, q.RTTWorst = r[len(r)/2], r[len(r)-1]
	}
	if m.samples > 0 {
		q.LossPercent = m.loss / float64(m.samples)
		q.BitrateIn, q.BitrateOut = int(m.in/int64(m.samples)), int(m.out/int64(m.samples))
	}
	q.AudioOnly, q.Reconnects = m.audioOnly, m.reconnects
	return q
}

// length is the time connected, up to now.
func (m *callMeter) length(now time.Time) time.Duration {
	if m.connected.IsZero() {
		return 0
	}
	return now.Sub(m.connected)
}

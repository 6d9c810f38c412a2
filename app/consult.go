package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"time"

	"teleconsole/call"
	"teleconsole/callwire"
	"teleconsole/record"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// ErrBusy is returned by Call while another call is on or being dialled.
var ErrBusy = errors.New("a call is already in progress: end it first")

// run handles inbound signalling, one message at a time, until ctx ends.
func (c *Console) run(ctx context.Context, inbound <-chan *uhiclient.Inbound) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-inbound:
			c.handle(in)
		}
	}
}

func (c *Console) handle(in *uhiclient.Inbound) {
	sig := in.Signal
	if sig == nil {
		return
	}
	log := c.log.With("from", in.Sender, "type", sig.Type.String(), "message_id", in.MessageID)
	switch sig.Type {
	case uhiclient.SignalReady:
		c.ready(in, log)
		return
	case uhiclient.SignalAck:
		log.Info("ACK from a patient ignored: only the doctor acknowledges READY")
		return
	case uhiclient.SignalOffer:
		log.Warn("OFFER from a patient ignored: only the doctor initiates a call (docs/protocol.md)")
		return
	}
	_ = c.room.Heard(in.Sender)
	c.mu.Lock()
	s := c.session
	if s == nil && c.dialing == in.Sender {
		// The OFFER is being made: what its patient sends now (a quick
		// ANSWER, a candidate) waits for the session.
		c.held = append(c.held, in)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	if s == nil || s.Peer() != in.Sender {
		if sig.Type == uhiclient.SignalBye {
			if err := c.room.Left(in.Sender); err != nil && !errors.Is(err, waitingroom.ErrUnknownPatient) {
				log.Info("BYE outside a call", "err", err)
			}
			return
		}
		// Signalling from someone who is not the patient of the current
		// call is dropped (docs/protocol.md).
		log.Info("signal for no current call dropped")
		return
	}
	c.toSession(s, in, log)
}

// toSession hands a call signal to the session it belongs to.
func (c *Console) toSession(s *call.Session, in *uhiclient.Inbound, log *slog.Logger) {
	cs, err := callwire.FromWire(in.Signal)
	if err != nil {
		log.Warn("bad call signal", "err", err)
		return
	}
	if err := s.Handle(cs); err != nil {
		log.Warn("handle signal", "err", err)
	}
}

// admit is the endpoint's admission check (uhiclient.WithAdmission), run
// before the reply to each new signalling message is written: a READY is
// recorded in the waiting room there and then, so the room's answer is the
// reply, and its photo is taken to be read. A READY the room refuses (waitingroom.ErrRoomFull: full of
// patients who have not finished) is NACKed with a 503 that the patient's
// app retries, instead of an ACK after which it would wait for an ACK
// signal that never comes; ErrNoAddress cannot arise, as the decoder
// refuses a message with no sender (docs/protocol.md §3, "Identifying the
// sender"). Room.Ready is a quick in-memory update that never blocks. A
// READY admitted here is in the room before any later signal of its
// sender is queued, let alone handled. Other signals need no place in the
// room: they are admitted as they are.
func (c *Console) admit(in *uhiclient.Inbound) error {
	if in.Signal.Type != uhiclient.SignalReady {
		return nil
	}
	_, err := c.room.Ready(readyPatient(in))
	if err == nil {
		// The endpoint clears a large photo once admit is done: it is
		// taken here and read off the hot path (photos.go).
		if photo := in.Envelope.Message.Intent.Chat.Sender.Person.Image; photo != "" {
			c.photos.offer(in.Sender, photo, time.Now())
		}
	}
	return err
}

// readyPatient is what a READY tells the waiting room (docs/protocol.md §2,
// "What the console keeps from a READY").
func readyPatient(in *uhiclient.Inbound) waitingroom.Patient {
	sender := in.Envelope.Message.Intent.Chat.Sender.Person
	return waitingroom.Patient{
		Address:       in.Sender,
		Name:          sender.Name,
		Gender:        sender.Gender,
		TransactionID: in.TransactionID,
		ConsumerID:    in.Envelope.Context.ConsumerID,
		ConsumerURI:   in.Envelope.Context.ConsumerURI,
	}
}

// ready handles a READY that admit let in: it queues its ACK when the room
// says so, and ends a call its patient has left.
//
// The READY is recorded again here, in the order of its sender's other
// signals. admit recorded it when it arrived, possibly while an earlier
// signal of the same sender was still queued: a BYE from the waiting room,
// handled after it, would leave the patient listed as left though they
// are back and ACKed. Recording it again after the earlier signals puts
// the room where the READY leaves it. For a patient the room holds, Ready
// is idempotent (the same state, identity and queue place), so a READY
// with nothing before it changes nothing the second time, and the room
// decides the ACK from its state now, as it did before admit existed.
func (c *Console) ready(in *uhiclient.Inbound, log *slog.Logger) {
	ack, err := c.room.Ready(readyPatient(in))
	if err != nil {
		// The patient was evicted since admit (only a finished patient is,
		// to make room for a new one) and the room is full again: the app
		// was ACKed over HTTP, and READYs again until an ACK signal comes.
		log.Warn("READY admitted, then refused by the waiting room", "err", err)
		return
	}
	if c.front != nil {
		c.front.arrive(in.TransactionID)
	}
	if !ack {
		return
	}
	if s := c.current(); s != nil && s.Peer() == in.Sender && s.State() == call.StateReconnecting {
		// The patients' app READYs only from its waiting room, and this
		// call has lost its connection: their side of it is gone (the app
		// restarted, or they went back). End it now rather than after the
		// reconnect timeout, with no BYE to an app that has left the call,
		// and list them again. While the call works, the READY is only an
		// app still polling behind it (called before an ACK reached it):
		// the ACK below stops that, and the call goes on.
		if err := c.room.Rejoined(in.Sender); err != nil {
			log.Info("waiting room not updated", "err", err)
		}
		log.Info("the patient of the current call is back in the waiting room: ending the call")
		s.Close(call.EndRejoined)
	}
	c.acks.push(in.Sender)
}

// sendAcks sends queued ACKs, oldest first, until the queue is closed and
// empty. Each is addressed when it is sent, with what the room then knows.
func (c *Console) sendAcks(ctx context.Context) {
	for {
		addr, ok := c.acks.pop()
		if !ok {
			return
		}
		log := c.log.With("to", addr, "type", "ACK")
		b, err := c.builderFor(addr)
		if err != nil {
			log.Warn("cannot address ACK", "err", err)
			continue
		}
		env, err := b.Ack()
		if err != nil {
			log.Warn("build ACK", "err", err)
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, ackTimeout)
		if err := c.wire.Send(sctx, b.Identity().ConsumerURI, env); err != nil {
			// The patients' app READYs again until an ACK arrives.
			log.Warn("ACK not delivered", "err", err)
		}
		cancel()
	}
}

// builderFor returns an envelope builder addressed to the patient at addr,
// with the routing values known from their READY (docs/protocol.md).
func (c *Console) builderFor(addr string) (*uhiclient.Builder, error) {
	p, ok := c.room.Get(addr)
	if !ok {
		return nil, fmt.Errorf("%q: %w", addr, waitingroom.ErrUnknownPatient)
	}
	if p.ConsumerURI == "" {
		return nil, fmt.Errorf("patient %s gave no consumer_uri to reach them", addr)
	}
	id := c.self
	id.Peer = uhiclient.Person{Name: p.Name, Gender: p.Gender, Cred: p.Address}
	id.ConsumerID, id.ConsumerURI, id.TransactionID = p.ConsumerID, p.ConsumerURI, p.TransactionID
	return uhiclient.NewBuilder(id)
}

func (c *Console) current() *call.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Patients returns the waiting room in arrival order (ui.Console).
func (c *Console) Patients() []waitingroom.Patient { return c.room.Patients() }

// Call starts a call to the patient at addr (ui.Console). The engine opens
// the media and makes the OFFER without the console's lock held, so inbound
// signalling and the UI's reads go on meanwhile.
func (c *Console) Call(addr string) error {
	c.mu.Lock()
	if c.session != nil || c.dialing != "" {
		c.mu.Unlock()
		return ErrBusy
	}
	c.dialing = addr
	c.mu.Unlock()

	dialled := time.Now()
	s, err := c.dial(addr)

	c.mu.Lock()
	held := c.held
	c.dialing, c.held = "", nil
	var id string
	if err == nil {
		c.session = s
		meter := &callMeter{dialled: dialled}
		id = c.consults.forCall(c.patientFor(addr, nil))
		if c.store != nil {
			c.store.CallStarted(id, dialled)
		}
		c.calls.Go(func() { c.follow(s, id, meter) })
	}
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if jpg := c.photos.kept(addr); jpg != nil && c.store != nil {
		// Who the doctor saw: the patient's photo, as the console kept
		// it, goes in the consultation's record.
		c.store.AddFile(record.File{Consultation: id, At: dialled, Direction: record.In, Kind: "photo",
			Name: "photo.jpg", MimeType: "image/jpeg"}, jpg)
	}
	for _, in := range held {
		c.toSession(s, in, c.log.With("from", in.Sender, "type", in.Signal.Type.String(), "message_id", in.MessageID))
	}
	return nil
}

func (c *Console) dial(addr string) (*call.Session, error) {
	b, err := c.builderFor(addr)
	if err != nil {
		return nil, err
	}
	if err := c.room.Calling(addr); err != nil {
		return nil, err
	}
	peer := callwire.New(c.wire, b, b.Identity().ConsumerURI, uhiclient.SessionID(c.self.Self.Address(), addr))
	s, err := c.dialer(addr, peer)
	if err != nil {
		_ = c.room.Ended(addr, waitingroom.StateDone, "call failed: "+err.Error())
		return nil, fmt.Errorf("call %s: %w", addr, err)
	}
	return s, nil
}

// follow passes one call's events to the UI and keeps the waiting room and
// the consultation's record (id) in step with them, until the call ends.
func (c *Console) follow(s *call.Session, id string, meter *callMeter) {
	for ev := range s.Events() {
		if st, ok := ev.(call.StatsEvent); ok {
			meter.stats(st.Stats)
			if now := time.Now(); c.store != nil && now.Sub(meter.lastWrite) >= qualityEvery {
				meter.lastWrite = now
				c.store.SetQuality(id, meter.quality())
			}
		}
		if se, ok := ev.(call.StateEvent); ok {
			c.record(s.Peer(), se)
			now := time.Now()
			meter.state(se, now)
			if se.State == call.StateEnded {
				if c.store != nil {
					c.store.End(id, now, meter.length(now), se.Reason.String(), meter.quality())
				}
				c.mu.Lock()
				if c.session == s {
					c.session = nil
				}
				c.mu.Unlock()
			}
			c.events <- ev // state changes are never dropped
			continue
		}
		select { // a stats sample may be dropped if the UI lags
		case c.events <- ev:
		default:
		}
	}
}

// record moves the patient in the waiting room as their call moves.
func (c *Console) record(addr string, ev call.StateEvent) {
	var err error
	switch ev.State {
	case call.StateConnecting, call.StateConnected:
		err = c.room.Answered(addr)
		if ev.State == call.StateConnected && c.front != nil {
			c.front.callMoved(c.transactionOf(addr), true)
		}
	case call.StateEnded:
		if ev.Reason == call.EndRejoined {
			return // the room already has them waiting again (ready)
		}
		err = c.room.Ended(addr, outcome(ev.Reason), ev.Reason.String())
		if c.front != nil && outcome(ev.Reason) == waitingroom.StateDone {
			// Complete moves only a visit that started: a call that never
			// connected leaves the appointment where it was.
			c.front.callMoved(c.transactionOf(addr), false)
		}
	}
	if err != nil {
		c.log.Info("waiting room not updated", "patient", addr, "state", ev.State.String(), "err", err)
	}
}

// outcome maps how a call ended to where the patient then stands.
func outcome(r call.EndReason) waitingroom.State {
	switch r {
	case call.EndNoAnswer:
		return waitingroom.StateNoAnswer
	case call.EndConnectionLost:
		return waitingroom.StateLost
	case call.EndUnreachable:
		return waitingroom.StateUnreachable
	case call.EndRemoteBye, call.EndDeclined:
		// After a BYE the reference app must re-open its screen and READY
		// again before it can take another call (docs/protocol.md).
		return waitingroom.StateLeft
	default:
		return waitingroom.StateDone
	}
}

// Hangup ends the current call, sending BYE (ui.Console).
func (c *Console) Hangup() {
	if s := c.current(); s != nil {
		s.Hangup()
	}
}

// SetMicMuted mutes or unmutes the doctor's microphone (ui.Console).
func (c *Console) SetMicMuted(muted bool) {
	if s := c.current(); s != nil {
		s.SetMicMuted(muted)
	}
}

// SetCameraOff turns the doctor's camera off or on (ui.Console).
func (c *Console) SetCameraOff(off bool) {
	if s := c.current(); s != nil {
		s.SetCameraOff(off)
	}
}

// Frame returns the patient's latest video frame (ui.Console).
func (c *Console) Frame() (*image.RGBA, uint64) {
	if s := c.current(); s != nil {
		return s.Frame()
	}
	return nil, 0
}

// Snapshot returns frame seq of the patient's video at the size it was
// decoded at (ui.Console).
func (c *Console) Snapshot(seq uint64) (image.Image, error) {
	if s := c.current(); s != nil {
		return s.Snapshot(seq)
	}
	return nil, call.ErrNoFrame
}

// Events delivers every call's events in order (ui.Console).
func (c *Console) Events() <-chan call.Event { return c.events }

// transactionOf is the transaction of the patient at addr's READY.
func (c *Console) transactionOf(addr string) string {
	for _, p := range c.room.Patients() {
		if p.Address == addr {
			return p.TransactionID
		}
	}
	return ""
}

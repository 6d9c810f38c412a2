package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"teleconsole/call"
	"teleconsole/link"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// errBusy is returned by Call while another call is on.
var errBusy = errors.New("a call is already in progress: end it first")

// console is the doctor's side of a consultation: it joins the waiting room
// (domain), the UHI wire and the call engine, and is what the UI drives
// (ui.Console). Inbound signalling is handled on one goroutine (run); the UI
// calls the other methods from its commands.
type console struct {
	room    *waitingroom.Room
	engine  *call.Engine
	client  *uhiclient.Client
	doctor  uhiclient.Person
	self    uhiclient.Identity // the doctor's provider id and URI
	log     *slog.Logger
	events  chan call.Event
	acks    chan struct{} // bounds the ACKs in flight
	sendTTL time.Duration

	mu      sync.Mutex
	session *call.Session // the current call, or nil
	wg      sync.WaitGroup
}

// maxAcksInFlight bounds concurrent ACK posts, so a READY flood cannot start
// a goroutine per READY; an ACK not sent is harmless because the patient app
// keeps sending READY until one arrives (contract §3).
const maxAcksInFlight = 32

func newConsole(room *waitingroom.Room, engine *call.Engine, client *uhiclient.Client, self uhiclient.Identity, log *slog.Logger) *console {
	return &console{
		room: room, engine: engine, client: client,
		doctor: self.Self, self: self, log: log,
		events:  make(chan call.Event, 64),
		acks:    make(chan struct{}, maxAcksInFlight),
		sendTTL: 10 * time.Second,
	}
}

// run handles inbound signalling until ctx ends.
func (c *console) run(ctx context.Context, inbound <-chan *uhiclient.Inbound) {
	for {
		select {
		case <-ctx.Done():
			return
		case in := <-inbound:
			c.handle(ctx, in)
		}
	}
}

func (c *console) handle(ctx context.Context, in *uhiclient.Inbound) {
	sig := in.Signal
	if sig == nil {
		return
	}
	log := c.log.With("from", in.Sender, "type", sig.Type.String(), "message_id", in.MessageID)
	switch sig.Type {
	case uhiclient.SignalReady:
		c.ready(ctx, in, log)
		return
	case uhiclient.SignalAck:
		log.Info("ACK from a patient ignored: only the doctor acknowledges READY")
		return
	case uhiclient.SignalOffer:
		log.Warn("OFFER from a patient ignored: only the doctor initiates a call (contract §3)")
		return
	}
	_ = c.room.Heard(in.Sender)
	s := c.current()
	if s == nil || s.Peer() != in.Sender {
		if sig.Type == uhiclient.SignalBye {
			if err := c.room.Left(in.Sender); err != nil && !errors.Is(err, waitingroom.ErrUnknownPatient) {
				log.Info("BYE outside a call", "err", err)
			}
			return
		}
		// Signalling from someone who is not the patient of the current
		// call is dropped (contract §3).
		log.Info("signal for no current call dropped")
		return
	}
	cs, err := link.FromWire(sig)
	if err != nil {
		log.Warn("bad call signal", "err", err)
		return
	}
	if err := s.Handle(cs); err != nil {
		log.Warn("handle signal", "err", err)
	}
}

// ready records a READY and answers it with an ACK when the room says so.
func (c *console) ready(ctx context.Context, in *uhiclient.Inbound, log *slog.Logger) {
	sender := in.Envelope.Message.Intent.Chat.Sender.Person
	p := waitingroom.Patient{
		Address:       in.Sender,
		Name:          sender.Name,
		Gender:        sender.Gender,
		TransactionID: in.TransactionID,
		ConsumerID:    in.Envelope.Context.ConsumerID,
		ConsumerURI:   in.Envelope.Context.ConsumerURI,
	}
	ack, err := c.room.Ready(p)
	if err != nil {
		log.Warn("READY not recorded", "err", err)
		return
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
	b, err := c.builderFor(in.Sender)
	if err != nil {
		log.Warn("cannot address ACK", "err", err)
		return
	}
	env, err := b.Ack()
	if err != nil {
		log.Warn("build ACK", "err", err)
		return
	}
	select {
	case c.acks <- struct{}{}:
	default:
		log.Warn("ACK skipped: too many in flight; the patient will READY again")
		return
	}
	uri := b.Identity().ConsumerURI
	c.wg.Go(func() {
		defer func() { <-c.acks }()
		sctx, cancel := context.WithTimeout(ctx, c.sendTTL)
		defer cancel()
		if err := c.client.Send(sctx, uri, env); err != nil {
			log.Warn("ACK not delivered", "err", err)
		}
	})
}

// builderFor returns an envelope builder addressed to the patient at addr,
// with the routing values known from their READY (contract §2).
func (c *console) builderFor(addr string) (*uhiclient.Builder, error) {
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

func (c *console) current() *call.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Patients returns the waiting room in arrival order (ui.Console).
func (c *console) Patients() []waitingroom.Patient { return c.room.Patients() }

// Call starts a call to the patient at addr (ui.Console).
func (c *console) Call(addr string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session != nil {
		return errBusy
	}
	b, err := c.builderFor(addr)
	if err != nil {
		return err
	}
	if err := c.room.Calling(addr); err != nil {
		return err
	}
	peer := link.New(c.client, b, b.Identity().ConsumerURI, uhiclient.SessionID(c.doctor.Address(), addr))
	s, err := c.engine.Dial(addr, peer)
	if err != nil {
		_ = c.room.Ended(addr, waitingroom.StateDone, "call failed: "+err.Error())
		return fmt.Errorf("call %s: %w", addr, err)
	}
	c.session = s
	c.wg.Go(func() { c.follow(s) })
	return nil
}

// follow passes one call's events to the UI and keeps the waiting room in
// step with them, until the call ends.
func (c *console) follow(s *call.Session) {
	for ev := range s.Events() {
		if se, ok := ev.(call.StateEvent); ok {
			c.record(s.Peer(), se)
			if se.State == call.StateEnded {
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
func (c *console) record(addr string, ev call.StateEvent) {
	var err error
	switch ev.State {
	case call.StateConnecting, call.StateConnected:
		err = c.room.Answered(addr)
	case call.StateEnded:
		if ev.Reason == call.EndRejoined {
			return // the room already has them waiting again (ready)
		}
		err = c.room.Ended(addr, outcome(ev.Reason), ev.Reason.String())
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
		// again before it can take another call (contract §3).
		return waitingroom.StateLeft
	default:
		return waitingroom.StateDone
	}
}

// Hangup ends the current call, sending BYE (ui.Console).
func (c *console) Hangup() {
	if s := c.current(); s != nil {
		s.Hangup()
	}
}

// SetMicMuted mutes or unmutes the doctor's microphone (ui.Console).
func (c *console) SetMicMuted(muted bool) {
	if s := c.current(); s != nil {
		s.SetMicMuted(muted)
	}
}

// SetCameraOff turns the doctor's camera off or on (ui.Console).
func (c *console) SetCameraOff(off bool) {
	if s := c.current(); s != nil {
		s.SetCameraOff(off)
	}
}

// Frame returns the patient's latest video frame (ui.Console).
func (c *console) Frame() (*image.RGBA, uint64) {
	if s := c.current(); s != nil {
		return s.Frame()
	}
	return nil, 0
}

// Events delivers every call's events in order (ui.Console).
func (c *console) Events() <-chan call.Event { return c.events }

// shutdown ends the current call with BYE and waits, at most until ctx ends,
// for it and the ACKs in flight to finish.
func (c *console) shutdown(ctx context.Context) {
	if s := c.current(); s != nil {
		s.Close(call.EndShutdown)
		select {
		case <-s.Done():
		case <-ctx.Done():
		}
	}
	done := make(chan struct{})
	go func() {
		// follow may be blocked handing the final event to a UI that has
		// already quit; drain so it can finish.
		for {
			select {
			case <-c.events:
			case <-done:
				return
			}
		}
	}()
	waited := make(chan struct{})
	go func() { c.wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	close(done)
}

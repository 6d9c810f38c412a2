// Package simpatient is a simulated patient: the EUA side of a UHI
// teleconsultation, for demos, tests and a second machine. It serves its own
// on_message endpoint (its consumer_uri), announces READY until the doctor
// ACKs, answers (or declines) the doctor's OFFER with synthetic media, and
// says BYE when it leaves. It reproduces the reference patient app's quirks
// ("from":"", cred and id, docs/protocol.md §3) so the console is tested against them.
package simpatient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/pion/webrtc/v4"

	"teleconsole/call"
	"teleconsole/callwire"
	"teleconsole/uhiclient"
)

// Config describes one simulated patient.
type Config struct {
	// Name, Gender and Address (ABHA) are the patient's identity.
	Name, Gender, Address string
	// Image is sent as person.image; the reference app sends a base64 photo.
	Image string
	// Doctor is the HPR address of the doctor the patient booked.
	Doctor string
	// ConsoleURI is the doctor's provider_uri; the patient posts to
	// ConsoleURI + "/on_message".
	ConsoleURI string
	// Listen is the host:port of the patient's own endpoint ("127.0.0.1:0"
	// picks a free port).
	Listen string
	// TransactionID is the booking's; a new one is made when empty.
	TransactionID string
	// ReadyInterval is the time between READYs until ACKed (default 5 s,
	// as the reference app).
	ReadyInterval time.Duration
	// AnswerDelay is how long the patient takes to accept an OFFER.
	AnswerDelay time.Duration
	// Decline makes the patient refuse every OFFER with a BYE.
	Decline bool
	// Rejoin makes the patient READY again after a call, as the reference
	// app does when its waiting-room screen is opened again.
	Rejoin bool
	// ChatKey is the patient's chat key pair, and DoctorChatKey the
	// doctor's public key: with both, chat text goes encrypted, as the
	// reference app sends it (docs/protocol.md §7).
	ChatKey       *uhiclient.ChatKeyPair
	DoctorChatKey *uhiclient.ChatKey
	// Book, when set, has the patient book a slot with the doctor first
	// (search, init, confirm), and READY on the booking's transaction.
	Book *Book
}

// EventKind says what happened to the patient.
type EventKind int

// The things a simulated patient reports. The zero value is EventUnknown.
const (
	// EventUnknown is the zero value and never reported.
	EventUnknown EventKind = iota
	// EventListening means the endpoint is up; Text is its consumer_uri.
	EventListening
	// EventReadySent means a READY was delivered.
	EventReadySent
	// EventAcked means the doctor's ACK arrived: READY polling stops.
	EventAcked
	// EventOffered means the doctor's OFFER arrived.
	EventOffered
	// EventAnswered means the ANSWER was sent.
	EventAnswered
	// EventDeclined means the patient refused the OFFER with a BYE.
	EventDeclined
	// EventCall carries a change of the call's state; Text says which.
	EventCall
	// EventBye means the doctor's BYE arrived.
	EventBye
	// EventError reports something that went wrong; Err is set.
	EventError
	// EventFirstFrame means the first frame of the doctor's video was
	// decoded: the end of call setup as the benchmarks measure it.
	EventFirstFrame
	// EventChat means a chat message from the doctor arrived; Text says
	// what it said (opened), and Data holds a file's bytes.
	EventChat
	// EventChatSent means a chat message to the doctor was delivered.
	EventChatSent
	// EventBooked means the booking asked for (Config.Book) is confirmed;
	// Text says when and the order, Data holds an in-clinic visit's
	// check-in PIN.
	EventBooked
	// EventAppointment carries what the console pushed about the booking
	// (on_update, on_cancel); Text says the new state.
	EventAppointment
)

// Event is one thing that happened to the patient.
type Event struct {
	// At is when it happened.
	At time.Time
	// Kind says what happened.
	Kind EventKind
	// Text says it in words.
	Text string
	// State is the call's state, for EventCall.
	State call.State
	// Reason is why the call ended, for EventCall with StateEnded.
	Reason call.EndReason
	// Err is set for EventError.
	Err error
	// Data is a received file's bytes, for EventChat.
	Data []byte
}

// taking is one call the patient takes, from the doctor's OFFER until the
// call ends: the cancel of the context its answer is made under.
type taking struct {
	cancel context.CancelFunc
}

// Patient is one simulated patient. Create it with New and start it with Run.
type Patient struct {
	cfg     Config
	engine  *call.Engine
	client  *uhiclient.Client
	log     *slog.Logger
	events  *eventQueue // to the WithEvents callback, off the patient's goroutines
	notify  func(Event)
	server  *uhiclient.Server
	desk    *bookingDesk // the console's booking callbacks
	ln      net.Listener
	builder *uhiclient.Builder

	mu      sync.Mutex
	session *call.Session
	sid     string        // session id of the current or last call
	held    []call.Signal // candidates that came before the OFFER was answered
	acked   chan struct{} // closed on the first ACK of a visit
	rejoin  chan struct{} // a call ended: READY again (with Rejoin)
	taking  *taking       // the call being answered or under way, if any
	wg      sync.WaitGroup
	gone    atomic.Bool // Vanish was called: nothing goes out any more

	// callContext makes each call's context from Run's; tests wrap it to
	// see every call's context end.
	callContext func(context.Context) (context.Context, context.CancelFunc)
}

// Option configures a Patient.
type Option func(*Patient) error

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(p *Patient) error {
		if l == nil {
			return errors.New("patient: nil logger")
		}
		p.log = l
		return nil
	}
}

// WithEvents sets a function called for every event, in order, on a
// goroutine of its own: while it blocks, events queue up and the patient
// carries on. Run returns only after the last call of it has returned.
func WithEvents(f func(Event)) Option {
	return func(p *Patient) error {
		p.notify = f
		return nil
	}
}

// New checks cfg, opens the patient's endpoint on cfg.Listen and returns the
// patient, ready to Run. The engine gives the patient its media (synthetic,
// usually) and the client its outbound wire (signed or not).
func New(cfg Config, engine *call.Engine, client *uhiclient.Client, opts ...Option) (*Patient, error) {
	switch {
	case cfg.Address == "":
		return nil, errors.New("patient: no ABHA address")
	case cfg.Doctor == "":
		return nil, errors.New("patient: no doctor (HPR address)")
	case cfg.ConsoleURI == "":
		return nil, errors.New("patient: no console URI")
	case engine == nil || client == nil:
		return nil, errors.New("patient: nil engine or client")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Address
	}
	if cfg.ReadyInterval <= 0 {
		cfg.ReadyInterval = 5 * time.Second
	}
	if cfg.TransactionID == "" {
		cfg.TransactionID = uuid.NewString()
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	p := &Patient{
		cfg: cfg, engine: engine, client: client,
		log:    slog.New(slog.DiscardHandler),
		notify: func(Event) {},
		acked:  make(chan struct{}),
		rejoin: make(chan struct{}, 1),

		callContext: context.WithCancel,
	}
	for _, o := range opts {
		if err := o(p); err != nil {
			return nil, err
		}
	}
	p.events = newEventQueue(p.notify)
	p.desk = newBookingDesk(p.appointment)
	srv, err := uhiclient.NewServer(cfg.Address, uhiclient.WithServerLogger(p.log))
	if err != nil {
		return nil, err
	}
	p.server = srv
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("patient: listen: %w", err)
	}
	p.ln = ln
	p.builder, err = uhiclient.NewBuilder(uhiclient.Identity{
		Self:          uhiclient.Person{Name: cfg.Name, Gender: cfg.Gender, Image: cfg.Image, Cred: cfg.Address},
		Peer:          uhiclient.Person{Cred: cfg.Doctor},
		ConsumerID:    "teleconsole-patient",
		ConsumerURI:   p.URI(),
		ProviderURI:   cfg.ConsoleURI,
		TransactionID: cfg.TransactionID,
	})
	if err != nil {
		ln.Close()
		return nil, err
	}
	return p, nil
}

// URI returns the patient's consumer_uri: where the doctor reaches it.
func (p *Patient) URI() string { return "http://" + p.ln.Addr().String() + "/api/v1" }

// SessionFramesDecoded returns how many frames of the doctor's video the
// current or last call decoded.
func (p *Patient) SessionFramesDecoded() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.session == nil {
		return 0
	}
	return p.session.FramesDecoded()
}

// errVanished is what the patient's sends return after Vanish.
var errVanished = errors.New("patient: vanished")

// Vanish makes the patient disappear the way a patient whose phone dies
// does: no BYE, no more messages, its side of the call dropped. The doctor's
// side must notice on its own (docs/protocol.md §6). Run still returns only when its
// context ends. It is for fault tests and demos.
func (p *Patient) Vanish() {
	p.gone.Store(true)
	p.mu.Lock()
	s, tk := p.session, p.taking
	p.mu.Unlock()
	if tk != nil {
		tk.cancel()
	}
	if s != nil {
		s.Close(call.EndShutdown) // its BYE is swallowed: see send
	}
}

// send posts a call signal unless the patient vanished.
func (p *Patient) send(peer *callwire.Peer) call.Signaller {
	return call.SignallerFunc(func(ctx context.Context, s call.Signal) error {
		if p.gone.Load() {
			return errVanished
		}
		return peer.Send(ctx, s)
	})
}

// emit reports e to the WithEvents callback, which runs later, on the
// event queue's goroutine: emit never blocks.
func (p *Patient) emit(e Event) {
	e.At = time.Now()
	p.events.put(e)
}

// Run serves the endpoint, announces READY and takes calls until ctx ends;
// then it says BYE (ending a call, or leaving the waiting room) and stops.
func (p *Patient) Run(ctx context.Context) error {
	hs := p.server.HTTPServer("")
	mux := http.NewServeMux()
	p.server.Mount(mux)
	for _, a := range bookingCallbacks() {
		mux.Handle(uhiclient.DefaultBasePath+"/"+a, p.desk)
	}
	hs.Handler = mux
	go p.events.run()
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(p.ln) }()
	p.emit(Event{Kind: EventListening, Text: "listening at " + p.URI()})

	inner, stop := context.WithCancel(ctx)
	defer stop()
	announce := true
	if p.cfg.Book != nil {
		announce = p.bookFirst(inner)
	}
	if announce {
		p.wg.Go(func() { p.announce(inner) })
	}

	var err error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case err = <-serveErr:
			break loop
		case in := <-p.server.Signals():
			p.handle(inner, in)
		case in := <-p.server.Chats():
			p.chat(in)
		}
	}
	stop()
	p.leave()
	p.wg.Wait()
	p.events.close() // every goroutine that emits is done: deliver the rest
	shut, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = hs.Shutdown(shut)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// announce sends READY every ReadyInterval until the doctor ACKs, and again
// after each call when Rejoin is set (docs/protocol.md §3).
func (p *Patient) announce(ctx context.Context) {
	for {
		p.mu.Lock()
		acked := p.acked
		p.mu.Unlock()
		p.pollReady(ctx, acked)
		select {
		case <-ctx.Done():
			return
		case <-p.rejoin:
			p.mu.Lock()
			p.acked = make(chan struct{})
			p.mu.Unlock()
		}
	}
}

func (p *Patient) pollReady(ctx context.Context, acked <-chan struct{}) {
	t := time.NewTicker(p.cfg.ReadyInterval)
	defer t.Stop()
	for {
		if err := p.sendReady(ctx); err != nil && ctx.Err() == nil {
			p.emit(Event{Kind: EventError, Text: "READY not delivered: " + err.Error(), Err: err})
		}
		select {
		case <-ctx.Done():
			return
		case <-acked:
			return
		case <-t.C:
		}
	}
}

func (p *Patient) sendReady(ctx context.Context) error {
	env, err := p.builder.Ready()
	if err != nil {
		return err
	}
	if p.gone.Load() {
		return errVanished
	}
	sctx, cancel := context.WithTimeout(ctx, p.cfg.ReadyInterval)
	defer cancel()
	if err := p.client.Send(sctx, p.cfg.ConsoleURI, env); err != nil {
		return err
	}
	p.emit(Event{Kind: EventReadySent, Text: "READY sent"})
	return nil
}

// handle takes one inbound message. Like the reference app, the patient
// drops signalling whose sender is not the doctor it booked (docs/protocol.md §3).
func (p *Patient) handle(ctx context.Context, in *uhiclient.Inbound) {
	sig := in.Signal
	if p.gone.Load() {
		return
	}
	if sig == nil || in.Sender != p.cfg.Doctor {
		p.log.Info("message not from our doctor dropped", "from", in.Sender)
		return
	}
	switch sig.Type {
	case uhiclient.SignalAck:
		first := false
		p.mu.Lock()
		select {
		case <-p.acked:
		default:
			close(p.acked)
			first = true
		}
		p.mu.Unlock()
		if first {
			p.emit(Event{Kind: EventAcked, Text: "ACK received: waiting to be called"})
		}
	case uhiclient.SignalOffer:
		p.offer(ctx, sig)
	case uhiclient.SignalCandidate, uhiclient.SignalBye:
		cs, err := callwire.FromWire(sig)
		if err != nil {
			p.emit(Event{Kind: EventError, Text: "bad signal: " + err.Error(), Err: err})
			return
		}
		if sig.Type == uhiclient.SignalBye {
			p.emit(Event{Kind: EventBye, Text: "BYE received from the doctor"})
		}
		p.mu.Lock()
		s := p.session
		if s == nil || s.State() == call.StateEnded {
			tk := p.taking
			if sig.Type == uhiclient.SignalCandidate && sig.SessionID == p.sid {
				p.held = append(p.held, cs)
			}
			p.mu.Unlock()
			if sig.Type == uhiclient.SignalBye && tk != nil {
				tk.cancel() // the doctor gave up before we answered
			}
			return
		}
		p.mu.Unlock()
		if err := s.Handle(cs); err != nil && !errors.Is(err, call.ErrEnded) {
			p.log.Warn("handle signal", "type", sig.Type.String(), "err", err)
		}
	}
}

// offer takes the doctor's OFFER: a new call, a repeat of the current one
// (ignored), or an ICE restart of the current one (passed to the session).
func (p *Patient) offer(ctx context.Context, sig *uhiclient.Signal) {
	cs, err := callwire.FromWire(sig)
	if err != nil {
		p.emit(Event{Kind: EventError, Text: "bad OFFER: " + err.Error(), Err: err})
		return
	}
	p.mu.Lock()
	if s := p.session; s != nil && s.State() != call.StateEnded {
		if sig.SessionID == p.sid {
			p.wg.Go(func() {
				if err := s.Handle(cs); err != nil {
					p.log.Info("re-OFFER", "err", err)
				}
			})
		}
		p.mu.Unlock()
		return
	}
	if p.taking != nil && sig.SessionID == p.sid {
		p.mu.Unlock()
		return // a repeated OFFER while we are about to answer
	}
	p.sid, p.held = sig.SessionID, nil
	actx, cancel := p.callContext(ctx)
	tk := &taking{cancel: cancel}
	p.taking = tk
	p.mu.Unlock()
	// Reported before accept starts, so that it comes before whatever
	// accept reports.
	p.emit(Event{Kind: EventOffered, Text: "OFFER received: the doctor is calling"})
	peer := callwire.New(p.client, p.builder, p.cfg.ConsoleURI, sig.SessionID, callwire.WithEmptyFrom())
	offer := *cs.Description
	p.wg.Go(func() { p.accept(actx, tk, peer, offer) })
}

// accept answers (or declines) an OFFER after the configured delay, then
// follows the call to its end. However it returns, tk's context is
// cancelled: nothing else would, before Run ends.
func (p *Patient) accept(ctx context.Context, tk *taking, peer *callwire.Peer, offer webrtc.SessionDescription) {
	defer p.finish(tk)
	select {
	case <-ctx.Done():
		return
	case <-time.After(p.cfg.AnswerDelay):
	}
	if p.cfg.Decline {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := p.send(peer).Send(sctx, call.Signal{Kind: call.SignalBye}); err != nil {
			p.emit(Event{Kind: EventError, Text: "BYE not delivered: " + err.Error(), Err: err})
		}
		p.emit(Event{Kind: EventDeclined, Text: "declined the call"})
		p.callEnded(tk)
		return
	}
	s, err := p.engine.Answer(p.cfg.Doctor, offer, p.send(peer))
	if err != nil {
		p.emit(Event{Kind: EventError, Text: "cannot answer: " + err.Error(), Err: err})
		p.callEnded(tk)
		return
	}
	p.mu.Lock()
	p.session = s
	held := p.held
	p.held = nil
	p.mu.Unlock()
	p.emit(Event{Kind: EventAnswered, Text: "ANSWER sent"})
	p.wg.Go(func() { p.watchFirstFrame(s) })
	for _, c := range held {
		_ = s.Handle(c)
	}
	for ev := range s.Events() {
		if se, ok := ev.(call.StateEvent); ok {
			text := "call " + se.State.String()
			if se.State == call.StateEnded {
				text += ": " + se.Reason.String()
			}
			p.emit(Event{Kind: EventCall, Text: text, State: se.State, Reason: se.Reason})
		}
	}
	p.callEnded(tk)
}

// watchFirstFrame reports the first decoded frame of the doctor's video,
// looking every 5 ms until it comes or the call ends.
func (p *Patient) watchFirstFrame(s *call.Session) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.Done():
			return
		case <-t.C:
			if s.FramesDecoded() > 0 {
				p.emit(Event{Kind: EventFirstFrame, Text: "first video frame decoded"})
				return
			}
		}
	}
}

// finish ends tk: its context is cancelled and, unless a newer call has
// taken its place, the patient takes no call any more. It may be called
// more than once.
func (p *Patient) finish(tk *taking) {
	p.mu.Lock()
	if p.taking == tk {
		p.taking = nil
	}
	p.mu.Unlock()
	tk.cancel()
}

func (p *Patient) callEnded(tk *taking) {
	// The call is over before the patient READYs again: an OFFER that
	// follows is a new call, not a repeat of this one (see offer).
	p.finish(tk)
	if !p.cfg.Rejoin {
		return
	}
	select {
	case p.rejoin <- struct{}{}:
	default:
	}
}

// leave ends the call with BYE, or tells the doctor the patient left the
// waiting room, and waits a little for it to go out.
func (p *Patient) leave() {
	if p.gone.Load() {
		return
	}
	p.mu.Lock()
	s := p.session
	p.mu.Unlock()
	if s != nil && s.State() != call.StateEnded {
		s.Hangup()
		select {
		case <-s.Done():
		case <-time.After(5 * time.Second):
		}
		return
	}
	env, err := p.builder.Bye(uhiclient.SessionID(p.cfg.Doctor, p.cfg.Address))
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := p.client.Send(ctx, p.cfg.ConsoleURI, env); err != nil {
		p.log.Info("leaving BYE not delivered", "err", err)
	}
}

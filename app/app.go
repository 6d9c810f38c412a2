// Package app is the doctor's side of a consultation as one application:
// the waiting room (waitingroom), the call engine (call) and the UHI wire
// (uhiclient) joined into a Console that the terminal interface drives.
// teleconsole, teleconsole demo and the system tests all run it the same
// way: New, Start, then Close, which shuts it down in one order.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"teleconsole/call"
	"teleconsole/record"
	"teleconsole/rx"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// Config is what New needs to assemble a Console.
type Config struct {
	// Doctor is who the console answers for: Cred is the HPR address, the
	// receiver every inbound message must name; Name is shown to patients.
	Doctor uhiclient.Person
	// ProviderID and ProviderURI are the console's UHI identity as patients
	// reach it (the URI ends in /api/v1; on_message is appended).
	ProviderID, ProviderURI string
	// Transport carries the signalling; nil is the console's own
	// on_message endpoint, served on the listener given to Start, with
	// Verifier, Signer and Client below.
	Transport Transport
	// Verifier checks inbound signatures; nil verifies nothing.
	Verifier uhiclient.Verifier
	// Signer signs outbound requests; nil sends them unsigned.
	Signer *uhiclient.Signer
	// Engine are the call engine's options (ICE servers, media, timeouts).
	Engine []call.Option
	// Room are the waiting room's options.
	Room []waitingroom.Option
	// Client are extra options of the outbound client (retries).
	Client []uhiclient.ClientOption
	// Log receives everything the console and its parts log; nil discards.
	Log *slog.Logger
	// ShutdownTimeout bounds Close when its context has no deadline
	// (default 5 s).
	ShutdownTimeout time.Duration
	// Record keeps every consultation; nil keeps nothing (--record off).
	// The caller opens and closes it.
	Record *record.Store
	// ChatKey is the doctor's chat key pair; nil sends and reads only
	// plain text.
	ChatKey *uhiclient.ChatKeyPair
	// ChatKeys finds a patient's chat public key by address; nil knows none.
	ChatKeys func(addr string) (uhiclient.ChatKey, bool)
	// Booking, when set, has the console take bookings over UHI on its
	// own endpoint (docs/booking.md); nil takes none.
	Booking *Booking
	// Fetch says what an attachment's content_url may be fetched from;
	// the zero value refuses every address inside (--fetch-allow).
	Fetch uhiclient.FetchPolicy
	// Profile reads the doctor's profile, for prescriptions; nil writes
	// none. RxKey signs them (the console's UHI key); nil refuses to sign.
	Profile func() (rx.Profile, error)
	RxKey   rx.Key
}

// Console is the running application. Its methods other than Start and
// Close are the ui.Console the terminal interface drives; all of them are
// safe for concurrent use.
type Console struct {
	room    *waitingroom.Room
	engine  *call.Engine
	dialer  func(peer string, out call.Signaller) (*call.Session, error) // engine.Dial; tests slow it
	wire    Transport
	direct  *direct // wire, when it is the console's own endpoint
	self    uhiclient.Identity
	log     *slog.Logger
	acks    *ackQueue
	events  chan call.Event
	timeout time.Duration

	store      *record.Store // nil: nothing kept
	consults   *consultations
	chatKey    *uhiclient.ChatKeyPair
	chatKeys   func(string) (uhiclient.ChatKey, bool)
	chatEvents chan record.Message
	mediaHTTP  *http.Client
	photos     *photos           // the patients' photos from their READY
	front      *frontDesk        // the booking desk, or nil
	rx         *prescriber       // nil: no prescriptions
	rxDrafts   map[string]string // consultation id -> the form as written (under mu)
	sends      sync.WaitGroup    // chat sends and fetches in flight
	sendCtx    context.Context   // cancelled by abort; set by Start

	// Set by Start, used by Close.
	started     bool
	stopInbound context.CancelFunc // ends the inbound loop
	bookingDone chan struct{}      // closed when the booking workers have stopped
	inboundDone chan struct{}      // closed when it has ended
	abort       context.CancelFunc // cancels the ACKs in flight
	workers     errgroup.Group     // the ACK workers

	mu      sync.Mutex
	session *call.Session // the current call, or nil
	dialing string        // the patient being dialled, while Dial runs
	held    []*uhiclient.Inbound
	calls   sync.WaitGroup // follow goroutines, one per call
}

// httpShutdownTimeout bounds the wait for inbound requests in Close.
const httpShutdownTimeout = time.Second

// ackWorkers serve the ACK queue: each ACK is one HTTP POST to a patient's
// endpoint, which can take seconds on a bad link, so a few run at once.
const ackWorkers = 8

// New assembles the console: waiting room, call engine, and the transport
// (Config.Transport, or the console's own endpoint: server with the
// verifier, client with the signer). Nothing runs until Start.
func New(cfg Config) (*Console, error) {
	if cfg.Doctor.Cred == "" {
		return nil, errors.New("app: the doctor's HPR address is required")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	room, err := waitingroom.New(cfg.Room...)
	if err != nil {
		return nil, err
	}
	engine, err := call.New(append([]call.Option{call.WithLogger(log.With("part", "call"))}, cfg.Engine...)...)
	if err != nil {
		return nil, err
	}
	timeout := cfg.ShutdownTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	c := &Console{
		room: room, engine: engine, log: log.With("part", "console"), wire: cfg.Transport,
		self:    uhiclient.Identity{Self: cfg.Doctor, ProviderID: cfg.ProviderID, ProviderURI: cfg.ProviderURI},
		events:  make(chan call.Event, 64),
		sendCtx: context.Background(), // until Start
		timeout: timeout,
	}
	c.store, c.chatKey, c.chatKeys = cfg.Record, cfg.ChatKey, cfg.ChatKeys
	c.consults = newConsultations(cfg.Record, cfg.Doctor.Cred)
	c.chatEvents = make(chan record.Message, 256)
	c.rxDrafts = map[string]string{}
	if cfg.Profile != nil {
		rules, err := rx.DefaultRules()
		if err != nil {
			return nil, err
		}
		c.rx = &prescriber{profile: cfg.Profile, rules: rules, key: cfg.RxKey}
	}
	c.mediaHTTP = cfg.Fetch.Client()
	c.dialer = engine.Dial
	c.acks = newAckQueue(room.Capacity())
	if c.wire == nil {
		if c.direct, err = newDirectFor(cfg, log); err != nil {
			return nil, err
		}
		c.wire = c.direct
	}
	// One photo for each patient the room can hold, and for a few who
	// left it lately. Through a hub, the photo comes as directly (the hub
	// puts what NATS cannot carry in its object store).
	c.photos = newPhotos(log.With("part", "photos"), room.Capacity()+8, ErrNoPhoto)
	if cfg.Booking != nil {
		if err := c.newFront(cfg); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// newFront makes the booking desk and serves it beside on_message.
func (c *Console) newFront(cfg Config) error {
	if c.direct == nil {
		return errors.New("app: bookings are taken on the console's own endpoint; behind a hub they are not yet")
	}
	if cfg.Booking.Desk == nil {
		return errors.New("app: bookings need a desk")
	}
	if got, want := cfg.Booking.Desk.Doctor(), cfg.Doctor.Cred; !strings.EqualFold(got, want) {
		return fmt.Errorf("app: the schedule is %s's, and the console is %s's (--hpr)", got, want)
	}
	doctorsKey := ""
	if cfg.ChatKey != nil {
		doctorsKey = cfg.ChatKey.Public.String()
	}
	f, err := newFrontDesk(*cfg.Booking, cfg.ProviderID, cfg.ProviderURI, c.direct.Client, doctorsKey, c.log.With("part", "booking"))
	if err != nil {
		return err
	}
	opts := []uhiclient.BookingOption{uhiclient.WithBookingLogger(c.log.With("part", "booking-endpoint"))}
	if cfg.Verifier != nil {
		opts = append(opts, uhiclient.WithBookingVerifier(cfg.Verifier))
	}
	if cfg.Booking.GatewayVerifier != nil {
		opts = append(opts, uhiclient.WithGatewayVerifier(cfg.Booking.GatewayVerifier))
	}
	srv, err := uhiclient.NewBookingServer(f.Handle, opts...)
	if err != nil {
		return err
	}
	c.front, c.direct.booking = f, srv
	return nil
}

// newDirectFor is the console's own endpoint as cfg describes it.
func newDirectFor(cfg Config, log *slog.Logger) (*direct, error) {
	verifier := cfg.Verifier
	if verifier == nil {
		verifier = uhiclient.NoVerification()
	}
	clientOpts := []uhiclient.ClientOption{uhiclient.WithClientLogger(log.With("part", "client"))}
	if cfg.Signer != nil {
		clientOpts = append(clientOpts, uhiclient.WithSigner(cfg.Signer))
	}
	client, err := uhiclient.NewClient(append(clientOpts, cfg.Client...)...)
	if err != nil {
		return nil, err
	}
	return newDirect(cfg.Doctor.Cred, verifier, client, uhiclient.WithServerLogger(log.With("part", "endpoint")),
		// Room for an attachment of the reference apps' 5 MB as base64.
		uhiclient.WithMaxBody(uhiclient.MediaBodyLimit))
}

// waitOrAbort waits for wait to return; if ctx ends first, it cancels what
// is in flight (abort) and still waits, and says what did not finish.
func (c *Console) waitOrAbort(ctx context.Context, wait func(), what string) error {
	done := make(chan struct{})
	go func() { wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		c.abort()
		<-done
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
}

// MediaSource says where calls get their picture and sound.
func (c *Console) MediaSource() string { return c.engine.MediaSource() }

// AudioProcessing says what runs on the doctor's microphone ("aec+ns+agc",
// "off"), or "" without one.
func (c *Console) AudioProcessing() string { return c.engine.AudioProcessing() }

// Verification says how inbound requests are checked (for the log).
func (c *Console) Verification() string { return c.wire.Verification() }

// Start takes what arrives and handles it, until Close; it returns at
// once. ln is where the console's own endpoint serves on_message, and is
// nil when Config.Transport is set. The room decides a READY's reply
// (Console.admit), so a patient it refuses is told so at once rather than
// ACKed and left waiting.
func (c *Console) Start(ln net.Listener) error {
	if c.direct != nil {
		c.direct.ln = ln
	}
	if err := c.wire.Start(c.admit); err != nil {
		return err
	}
	c.started = true
	inbound, stopInbound := context.WithCancel(context.Background())
	sends, abort := context.WithCancel(context.Background())
	c.stopInbound, c.abort, c.inboundDone = stopInbound, abort, make(chan struct{})
	c.sendCtx = sends
	if c.front != nil {
		c.front.SetContext(sends)
		c.bookingDone = make(chan struct{})
		go func() { defer close(c.bookingDone); _ = c.direct.booking.Run(inbound) }()
	}
	go func() {
		defer close(c.inboundDone)
		var chats sync.WaitGroup
		chats.Go(func() { c.chats(inbound, c.wire.Chats()) })
		chats.Go(func() { c.photos.run(inbound) })
		c.run(inbound, c.wire.Signals())
		chats.Wait()
	}()
	for range ackWorkers {
		c.workers.Go(func() error { c.sendAcks(sends); return nil })
	}
	return nil
}

// Stopped delivers the transport's error if it stops before Close (the
// endpoint fails), and is closed once it has stopped.
func (c *Console) Stopped() <-chan error { return c.wire.Stopped() }

// Close shuts the console down in one order, within ctx (or the shutdown
// timeout): stop taking inbound requests (in-flight ones finish), stop
// handling what they brought, end the call with BYE, let the ACKs already
// queued go out, then wait for every goroutine. It returns what did not
// finish in time.
func (c *Console) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	if c.started {
		if err := c.wire.Close(ctx); err != nil {
			c.log.Info("transport shutdown incomplete", "err", err)
		}
		c.stopInbound()
		<-c.inboundDone // it stops within one message
		if c.bookingDone != nil {
			<-c.bookingDone // the requests being answered finish first
		}
	}
	// Nothing enqueues ACKs any more: the workers send what is queued and
	// stop.
	c.acks.close()
	c.mu.Lock()
	s := c.session
	c.mu.Unlock()
	if s != nil {
		s.Close(call.EndShutdown)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if s == nil {
			return nil
		}
		select {
		case <-s.Done():
			return nil
		case <-gctx.Done():
			return fmt.Errorf("the call did not end in time: %w", gctx.Err())
		}
	})
	g.Go(func() error {
		return c.waitOrAbort(gctx, func() { _ = c.workers.Wait() }, "ACKs still in flight")
	})
	g.Go(func() error {
		return c.waitOrAbort(gctx, c.sends.Wait, "chat messages still in flight")
	})
	if c.front != nil {
		g.Go(func() error {
			return c.waitOrAbort(gctx, c.front.Wait, "booking callbacks still in flight")
		})
	}
	g.Go(func() error {
		// follow may be blocked handing a call's last event to a UI that
		// has already quit: drain so it finishes.
		done := make(chan struct{})
		go func() { c.calls.Wait(); close(done) }()
		for {
			select {
			case <-c.events:
			case <-done:
				return nil
			case <-gctx.Done():
				return fmt.Errorf("a call's events were not drained in time: %w", gctx.Err())
			}
		}
	})
	err := g.Wait()
	if c.abort != nil {
		c.abort()
	}
	c.consults.endUncalled(time.Now())
	return err
}

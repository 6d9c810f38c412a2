package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/booking"
	"teleconsole/hspa"
	"teleconsole/uhiclient"
)

// Defaults of a Hub.
const (
	// DefaultOffline is how long a console may go unseen before the hub
	// refuses messages for its doctor: a console that comes back within it
	// gets what arrived meanwhile.
	DefaultOffline = 30 * time.Second
	// heartbeat is how often a console says it is there; several fit in
	// DefaultOffline, so one lost heartbeat marks no one offline.
	heartbeat = 5 * time.Second
	// holdFor is how long the stream keeps a message and remembers its
	// message_id (JetStream's de-duplication window): past the offline
	// limit, with room for a console's redeliveries.
	holdFor = 2 * time.Minute
	// publishTimeout bounds the wait for JetStream to take a message; the
	// patient is answered 503 after it.
	publishTimeout = 3 * time.Second
	// ackWait is how long a console has to acknowledge a message before
	// JetStream delivers it again.
	ackWait = 5 * time.Second
	// holdPublish bounds how long a patient's message is held while the
	// stream has no leader: past the longest election measured (8.6 s
	// after its leader's node was killed; JetStream's election timeout is
	// 4 to 9 s) and short of the patients' HTTP timeout (10 s, as
	// uhiclient.Client's).
	holdPublish = 9 * time.Second
	// retryFirst and retryMax are the waits between a held message's
	// publishes.
	retryFirst, retryMax = 50 * time.Millisecond, 500 * time.Millisecond
	// outboundWorkers bound the outbound requests a hub posts at once.
	outboundWorkers = 64
)

// Config is what New needs.
type Config struct {
	// Doctors are the hospital's doctors; their consoles' consumers are
	// made (or kept) at New.
	Doctors []Doctor
	// Conn is the hub's connection to NATS, with rights to everything.
	Conn *nats.Conn
	// Replicas is how many NATS servers hold the stream (1, or 3 on a
	// three-node cluster).
	Replicas int
	// Verifier checks the patients' signatures; nil checks none.
	Verifier uhiclient.Verifier
	// Client posts the doctors' outbound messages; it holds the
	// hospital's signer.
	Client *uhiclient.Client
	// ProviderID and ProviderURI are the hospital's UHI identity, written
	// into every outbound message's context.
	ProviderID, ProviderURI string
	// Offline is the offline limit (default DefaultOffline).
	Offline time.Duration
	// EnsureEvery is how often the hub checks that every doctor's
	// consumer is there, and makes again one that has gone (default 10 s).
	EnsureEvery time.Duration
	// Log receives the hub's log; nil discards.
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	// Schedules are the doctors' schedules by HPR address, each a doctor
	// of Doctors: with any, the hub serves the booking endpoints for them
	// beside on_message, their appointments kept in the uhi_bookings
	// bucket (docs/booking.md §6).
	Schedules map[string]*booking.Plan
	// PINKey hashes the check-in PINs; every replica needs the same
	// (uhiclient.Signer.DeriveKey of the hospital's key). Needed with
	// Schedules.
	PINKey []byte
	// Gateway is the UHI gateway's base URI: the catalog answers a
	// broadcast search there and the audit copies of callbacks go there.
	// Empty: no gateway.
	Gateway string
	// GatewayVerifier checks a broadcast search's X-Gateway-Authorization;
	// nil checks none.
	GatewayVerifier uhiclient.Verifier
	// Helpline is the hospital's phone, sent in on_confirm.
	Helpline string
}

// Hub is one replica of the hospital's endpoint. It keeps in memory only
// what it reads back from NATS (when each console was last seen), so any
// number of replicas serve the same hospital.
type Hub struct {
	cfg     Config
	js      jetstream.JetStream
	server  *uhiclient.Server
	booking *uhiclient.BookingServer     // the booking endpoints, nil without schedules
	front   atomic.Pointer[hspa.Service] // the doctors' desks, once set up
	doctors map[string]bool
	log     *slog.Logger
	workers chan struct{}
	sends   sync.WaitGroup
	stop    context.CancelFunc
	keeping sync.WaitGroup // setup, ensure, watch

	// ready is closed once setup has made the stream, the bucket and the
	// consumers, read the presence bucket and subscribed to outbound
	// requests; what setup wrote is read only after it. failed is closed
	// when setup gave up, with setupErr saying why.
	ready, failed chan struct{}
	setupErr      error
	waiting       atomic.Pointer[string] // what setup waits for now

	mu      sync.Mutex
	sub     *nats.Subscription
	seen    map[string]time.Time             // by Token
	media   map[string]jetstream.ObjectStore // each doctor's bucket, by address, once bound
	closing bool                             // Close has begun: no new outbound post
}

// Start makes a replica that serves at once: its endpoint checks what
// patients post and answers 503, with a Retry-After, until it is set up.
// Setting up (the stream, the presence bucket, each doctor's consumer, all
// idempotent, so replicas starting together agree) is tried again with
// backoff, logged, until it succeeds, fails for a reason no wait mends
// (Wait returns it), or Close. Then the replica follows the presence bucket and
// serves outbound requests until Close.
func Start(cfg Config) (*Hub, error) {
	if cfg.Conn == nil || cfg.Client == nil {
		return nil, errors.New("hub: a NATS connection and an outbound client are needed")
	}
	if len(cfg.Doctors) == 0 {
		return nil, fmt.Errorf("hub: %w: no doctor", ErrBadDoctors)
	}
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	if cfg.Offline <= 0 {
		cfg.Offline = DefaultOffline
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.EnsureEvery <= 0 {
		cfg.EnsureEvery = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Verifier == nil {
		cfg.Verifier = uhiclient.NoVerification()
	}
	// The client times out each publish it waits on (publishTimeout): one
	// whose acknowledgement never comes, its node gone, would otherwise stay
	// pending for as long as the connection lasts, and over failovers the
	// pending publishes would reach the client's limit, after which it
	// refuses every new one (TestLostAcknowledgementIsLetGo).
	js, err := jetstream.New(cfg.Conn, jetstream.WithPublishAsyncTimeout(publishTimeout))
	if err != nil {
		return nil, fmt.Errorf("hub: jetstream: %w", err)
	}
	h := &Hub{cfg: cfg, js: js, doctors: map[string]bool{}, log: cfg.Log, seen: map[string]time.Time{},
		media: map[string]jetstream.ObjectStore{}, workers: make(chan struct{}, outboundWorkers),
		ready: make(chan struct{}), failed: make(chan struct{})}
	for _, d := range cfg.Doctors {
		h.doctors[strings.ToLower(strings.TrimSpace(d.Address))] = true
	}
	if err := checkSchedules(cfg, h.doctors); err != nil {
		return nil, err
	}
	if err := h.newBookingServer(); err != nil {
		return nil, err
	}
	h.server, err = uhiclient.NewServer("hub", uhiclient.WithVerifier(cfg.Verifier),
		uhiclient.WithDelivery(h.deliver), uhiclient.WithServerLogger(cfg.Log.With("part", "endpoint")),
		// Room for a chat attachment, as the console's own endpoint has;
		// what NATS cannot carry goes in the object store (fit).
		uhiclient.WithMaxBody(uhiclient.MediaBodyLimit),
		// Every photo kept: the console takes it (its link's admission
		// check), as its own endpoint does.
		uhiclient.WithMaxImage(0))
	if err != nil {
		return nil, err
	}
	h.setWaiting("NATS")
	wctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	h.keeping.Go(func() {
		if err := h.setup(wctx); err != nil {
			h.setupErr = err
			close(h.failed)
			return
		}
		close(h.ready)
		if h.booking != nil {
			h.keeping.Go(func() { _ = h.booking.Run(wctx) })
		}
		h.ensure(wctx)
	})
	return h, nil
}

// New is Start, then waits until the replica is set up or ctx ends; on an
// error the replica is closed.
func New(ctx context.Context, cfg Config) (*Hub, error) {
	h, err := Start(cfg)
	if err != nil {
		return nil, err
	}
	if err := h.Wait(ctx); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Wait waits until the replica is set up (nil), its setup failed for a
// lasting reason (an error wrapping ErrSetup), or ctx ends.
func (h *Hub) Wait(ctx context.Context) error {
	select {
	case <-h.ready:
		return nil
	case <-h.failed:
		return fmt.Errorf("hub: %w", h.setupErr)
	case <-ctx.Done():
		return fmt.Errorf("hub: not set up (waiting for %s): %w", h.Waiting(), ctx.Err())
	}
}

// Waiting says what the replica's setup waits for now ("" once set up).
func (h *Hub) Waiting() string {
	if w := h.waiting.Load(); w != nil {
		return *w
	}
	return ""
}

func (h *Hub) setWaiting(what string) { h.waiting.Store(&what) }

// setup makes or binds what the hub needs in JetStream, follows the
// presence bucket and subscribes to the doctors' outbound requests.
func (h *Hub) setup(ctx context.Context) error {
	h.setWaiting("stream " + Stream)
	if _, err := ensureStream(ctx, h.js, h.log, jetstream.StreamConfig{
		Name: Stream, Subjects: []string{inboundAll}, Storage: jetstream.FileStorage,
		Replicas: h.cfg.Replicas, MaxAge: holdFor, Duplicates: holdFor,
	}); err != nil {
		return err
	}
	h.setWaiting("bucket " + PresenceBucket)
	kv, err := ensureKeyValue(ctx, h.js, h.log, jetstream.KeyValueConfig{
		Bucket: PresenceBucket, History: 1, TTL: time.Hour, Replicas: h.cfg.Replicas,
	})
	if err != nil {
		return err
	}
	// Each consumer keeps its state (what it delivered, what was acked) in
	// memory, replicated to the stream's servers, not in a file: with 100
	// consoles, the files' rewrites after every ack took the whole process
	// 2,277 µs of CPU a request, in memory 872 (BenchmarkHubToConsoles, 300
	// requests a second on two busy cores). What it costs: when every
	// server that holds a consumer restarts at once, the consumer starts
	// again from the oldest message the stream keeps (2 minutes), and the
	// consoles drop what they already took by message_id.
	for addr := range h.doctors {
		h.setWaiting("consumer of " + addr)
		if _, err := ensureConsumer(ctx, h.js, h.log, Stream, consumerConfig(addr)); err != nil {
			return err
		}
	}
	h.setWaiting("presence in bucket " + PresenceBucket)
	if _, err := ensure(ctx, h.js, h.log, "presence in bucket "+PresenceBucket, func(actx context.Context) (struct{}, error) {
		return struct{}{}, h.follow(ctx, actx, kv)
	}); err != nil {
		return err
	}
	sub, err := h.cfg.Conn.QueueSubscribe(outboundAll, hubQueue, h.outbound)
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", outboundAll, err)
	}
	h.mu.Lock()
	h.sub = sub
	h.mu.Unlock()
	if err := h.setupFront(ctx); err != nil {
		return err
	}
	h.waiting.Store(nil)
	h.log.Info("hub set up", "stream", Stream, "replicas", h.cfg.Replicas, "doctors", len(h.doctors))
	return nil
}

// follow starts watching the presence bucket for as long as ctx lasts, and
// returns once the values there at the start are read, or attempt ends.
func (h *Hub) follow(ctx, attempt context.Context, kv jetstream.KeyValue) error {
	wctx, cancel := context.WithCancel(ctx)
	w, err := kv.WatchAll(wctx)
	if err != nil {
		cancel()
		return fmt.Errorf("watch %s: %w", PresenceBucket, err)
	}
	first := make(chan struct{})
	h.keeping.Go(func() { defer cancel(); h.watch(wctx, w, first) })
	select {
	case <-first:
		return nil
	case <-attempt.Done():
		cancel()
		return fmt.Errorf("presence not read: %w", attempt.Err())
	}
}

// consumerConfig is the doctor's durable consumer.
func consumerConfig(addr string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable: Durable(addr), FilterSubject: InboundSubject(addr),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: ackWait, DeliverPolicy: jetstream.DeliverAllPolicy,
		MemoryStorage: true,
	}
}

// ensure makes again, until ctx ends, any doctor's consumer that has gone:
// a consumer kept in memory is lost when all its servers restart.
func (h *Hub) ensure(ctx context.Context) {
	t := time.NewTicker(h.cfg.EnsureEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for addr := range h.doctors {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := h.js.Consumer(cctx, Stream, Durable(addr))
			if errors.Is(err, jetstream.ErrConsumerNotFound) {
				if _, err := h.js.CreateOrUpdateConsumer(cctx, Stream, consumerConfig(addr)); err != nil {
					h.log.Warn("consumer not made again", "doctor", addr, "err", err)
				} else {
					h.log.Info("consumer made again", "doctor", addr)
				}
			}
			cancel()
		}
	}
}

// watch keeps h.seen in step with the presence bucket until ctx ends;
// first is closed once the values there at the start are all in.
func (h *Hub) watch(ctx context.Context, w jetstream.KeyWatcher, first chan struct{}) {
	defer func() { _ = w.Stop() }()
	started := false
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil { // the values there were at the start are all in
				if !started {
					close(first)
					started = true
				}
				continue
			}
			h.mu.Lock()
			if e.Operation() == jetstream.KeyValuePut {
				h.seen[e.Key()] = e.Created()
			} else {
				delete(h.seen, e.Key())
			}
			h.mu.Unlock()
		}
	}
}

// lastSeen is when the console of the doctor at addr last said it was there.
func (h *Hub) lastSeen(addr string) (time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.seen[Token(addr)]
	return t, ok
}

// Handler serves on_message at /api/v1/on_message and /on_message, and
// GET /healthz: 200 while the hub's NATS connection is up, 503 otherwise.
func (h *Hub) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", h.server.Handler())
	h.mountBooking(mux)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.cfg.Conn.IsConnected() {
			http.Error(w, "nats: "+h.cfg.Conn.Status().String(), http.StatusServiceUnavailable)
			return
		}
		if why := h.Waiting(); why != "" {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "starting: waiting for "+why, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	return mux
}

// HTTPServer is an *http.Server for addr serving Handler, with the
// endpoint's timeouts (uhiclient.Server.HTTPServer).
func (h *Hub) HTTPServer(addr string) *http.Server {
	s := h.server.HTTPServer(addr)
	s.Handler = h.Handler()
	return s
}

// Stats are the endpoint's counters.
func (h *Hub) Stats() uhiclient.Stats { return h.server.Stats() }

// Verification describes the inbound authentication, for the log.
func (h *Hub) Verification() string { return h.server.Verification() }

// deliver stores an accepted message on its doctor's subject
// (uhiclient.WithDelivery): ACK only once JetStream has it. JetStream drops
// a message_id it has seen within holdFor, whichever replica stored it.
func (h *Hub) deliver(ctx context.Context, in *uhiclient.Inbound, body []byte) error {
	addr := strings.ToLower(strings.TrimSpace(in.Receiver))
	if !h.doctors[addr] {
		return fmt.Errorf("%w: receiver %q is %v", uhiclient.ErrNotForMe, in.Receiver, ErrNotRegistered)
	}
	select {
	case <-h.ready:
	default:
		// Answered as a full waiting room is: 503, Retry-After 5 s.
		return fmt.Errorf("%w: %v (waiting for %s)", uhiclient.ErrNotAdmitted, ErrStarting, h.Waiting())
	}
	seen, ok := h.lastSeen(addr)
	if now := h.cfg.Now(); !ok || now.Sub(seen) > h.cfg.Offline {
		when := "never seen"
		if ok {
			when = "last seen " + now.Sub(seen).Round(time.Second).String() + " ago"
		}
		return fmt.Errorf("%w: %v: %s (%s)", uhiclient.ErrNotAdmitted, ErrOffline, addr, when)
	}
	// One hold for the whole message: its photos and attachment put in
	// the object store, and its publish (publish says why).
	hold, cancel := context.WithTimeout(ctx, holdPublish)
	defer cancel()
	data, hdr, err := h.fit(hold, in, body, addr)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(InboundSubject(addr))
	msg.Data = data
	for k, v := range hdr {
		msg.Header[k] = v
	}
	if in.KeyID != "" {
		msg.Header.Set(headerKeyID, in.KeyID)
	}
	return h.publish(hold, msg, in.MessageID, addr)
}

// publish stores msg with its message_id, holding it while the stream has
// no leader: when the node that leads the stream dies, JetStream answers
// no publish ("no response from stream") until the others have elected a
// new leader, 4.4 to 8.6 s after a node was killed (docs/hub.md). A patient
// refused then must send again, and an ANSWER, a CANDIDATE or a chat
// message refused then is a call that does not connect or a message the
// patient must type again; held, each is ACKed once it is stored. The hold
// (deliver bounds it to holdPublish) ends so that the patient is answered,
// a 503 at worst, within its app's HTTP timeout.
func (h *Hub) publish(hold context.Context, msg *nats.Msg, id, addr string) error {
	return h.held(hold, "JetStream did not store it", id, func(ctx context.Context) error {
		return h.publishOnce(ctx, msg, id, addr)
	})
}

// held calls try until it succeeds, fails otherwise than for want of a
// stream leader (leaderless), or hold ends (deliver gives it holdPublish),
// with waits from retryFirst to retryMax between.
func (h *Hub) held(hold context.Context, failed, id string, try func(context.Context) error) error {
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		err := try(hold)
		if err == nil {
			if attempt > 1 {
				h.log.Info("held until the stream's leader came back", "message_id", id, "attempts", attempt)
			}
			return nil
		}
		if !leaderless(err) || hold.Err() != nil {
			return fmt.Errorf("%s (%d attempts): %w", failed, attempt, err)
		}
		h.log.Debug("held: no stream leader", "message_id", id, "attempt", attempt, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-hold.Done():
			t.Stop()
			return fmt.Errorf("%s within %v (%d attempts): %w", failed, holdPublish, attempt, err)
		case <-t.C:
		}
		wait = min(2*wait, retryMax)
	}
}

// leaderless says whether a publish failed as it does while the stream has
// no leader, or its leader's node is gone: no server took it, none
// answered in time, or the hub's own server died with it unanswered (the
// client fails what it had pending when its connection drops, and
// reconnects to another).
func leaderless(err error) bool {
	return errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrAsyncPublishTimeout) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, context.DeadlineExceeded) // an attempt's own bound; held stops at the hold's
}

// publishOnce publishes msg once and waits for JetStream's answer.
func (h *Hub) publishOnce(ctx context.Context, msg *nats.Msg, id, addr string) error {
	// An asynchronous publish, waited for here: its acknowledgement comes
	// on one subscription the connection shares, where a synchronous
	// publish makes a request of its own, and under load the requests
	// queue on the connection's lock. With 1,000 requests a second, 100
	// consoles, on two busy cores, synchronous publishes timed out after
	// 3 s within a second of the start (BenchmarkHubToConsoles).
	//
	// No retry by the client (it sends msg again 250 ms after a "no
	// responders", as while a cluster has no stream leader): msg.Data is
	// the endpoint's pooled buffer, which the next request takes once
	// deliver returns, and a resend after the patient was answered stored
	// that request's body under this message's id, on this doctor's
	// subject (TestNoPublishOutlivesItsAnswer). publish retries, and
	// returns only after its last attempt was sent.
	f, err := h.js.PublishMsgAsync(msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(Stream),
		jetstream.WithRetryAttempts(0))
	if err != nil {
		return err
	}
	select {
	case ack := <-f.Ok():
		if ack.Duplicate {
			h.log.Debug("duplicate message_id dropped by JetStream", "message_id", id, "receiver", addr)
		}
		return nil
	case err := <-f.Err():
		if errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
			return fmt.Errorf("no acknowledgement within %v: %w", publishTimeout, err)
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fit returns what to store for a message: its body as it came, or, when
// that is more than the NATS servers take in one message (1 MB unless their
// max_payload says otherwise), the envelope with its photos and its
// attachment put in the doctor's object store (stow), and the headers that
// name them. The patients' reference app puts a photo of a megabyte or
// more in every READY; the signature was checked here, and consoles do not
// check it again. A message still too big is refused for what it is: 413,
// not a retry.
func (h *Hub) fit(ctx context.Context, in *uhiclient.Inbound, body []byte, addr string) ([]byte, nats.Header, error) {
	limit := h.cfg.Conn.MaxPayload() - 4096 // room for the headers
	if int64(len(body)) <= limit {
		return body, nil, nil
	}
	stowed, hdr, err := h.stow(ctx, in, addr)
	if err != nil {
		return nil, nil, fmt.Errorf("storing a message of %d bytes: %w", len(body), err)
	}
	if int64(len(stowed)) > limit {
		return nil, nil, fmt.Errorf("%w: %d bytes (%d without its photos and attachment) is more than the hub's messaging carries (%d)",
			uhiclient.ErrBodyTooLarge, len(body), len(stowed), limit)
	}
	h.log.Debug("message stored with its large values in the object store", "message_id", in.MessageID, "bytes", len(body),
		"stored", len(stowed), "objects", len(hdr))
	return stowed, hdr, nil
}

// outbound takes a doctor's outbound request off the subscription and posts
// it on a worker of its own: a post can take seconds, and the
// subscription's one goroutine serves every doctor.
func (h *Hub) outbound(m *nats.Msg) {
	h.workers <- struct{}{}
	h.mu.Lock()
	if h.closing {
		// Close is waiting for the posts under way: this one is left,
		// unanswered, to the console's retry and another replica.
		h.mu.Unlock()
		<-h.workers
		return
	}
	h.sends.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.sends.Done()
		defer func() { <-h.workers }()
		r := h.post(m)
		b, _ := json.Marshal(r)
		if err := m.Respond(b); err != nil {
			h.log.Warn("outbound reply lost", "subject", m.Subject, "err", err)
		}
	}()
}

// post checks an outbound request and posts it to the patient: the sender
// must be the doctor whose subject it came on (NATS lets only that
// doctor's user publish there), the body a valid on_message body, and the
// target its consumer_uri. The hospital's provider_id and provider_uri are
// written into its context before it is signed.
func (h *Hub) post(m *nats.Msg) outboundReply {
	refuse := func(status int, typ, code, text string) outboundReply {
		h.log.Info("outbound refused", "subject", m.Subject, "status", status, "reason", text)
		return outboundReply{Status: status, Error: &uhiclient.ErrorBody{Type: typ, Code: code, Message: text}}
	}
	doctor, ok := addressOf(strings.TrimPrefix(m.Subject, outboundPrefix))
	if !ok || !h.doctors[doctor] {
		return refuse(http.StatusForbidden, uhiclient.TypeContext, uhiclient.CodeBadRequest,
			fmt.Sprintf("%q: %v", doctor, ErrNotRegistered))
	}
	in, err := uhiclient.Decode(m.Data)
	if err != nil {
		return refuse(http.StatusBadRequest, uhiclient.TypeSchema, uhiclient.CodeInvalidJSON, err.Error())
	}
	if !strings.EqualFold(in.Sender, doctor) || !in.Envelope.Message.Intent.Chat.Sender.Person.Is(doctor) {
		return refuse(http.StatusForbidden, uhiclient.TypeContext, uhiclient.CodeBadRequest,
			fmt.Sprintf("%v: sender %q, doctor %q", ErrWrongSender, in.Sender, doctor))
	}
	target := m.Header.Get(headerTarget)
	if target == "" || target != in.Envelope.Context.ConsumerURI {
		return refuse(http.StatusBadRequest, uhiclient.TypeContext, uhiclient.CodeBadRequest,
			fmt.Sprintf("target %q is not the message's consumer_uri %q", target, in.Envelope.Context.ConsumerURI))
	}
	body, err := h.asHospital(m.Data)
	if err != nil {
		return refuse(http.StatusBadRequest, uhiclient.TypeSchema, uhiclient.CodeInvalidJSON, err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), outboundTimeout)
	defer cancel()
	if err := h.cfg.Client.Post(ctx, target, body); err != nil {
		var nack *uhiclient.NackError
		if errors.As(err, &nack) {
			return outboundReply{Status: nack.HTTPStatus, Error: &uhiclient.ErrorBody{
				Type: nack.Type, Code: nack.Code, Path: nack.Path, Message: nack.Message}}
		}
		h.log.Info("outbound not delivered", "doctor", doctor, "target", target, "err", err)
		return outboundReply{Message: err.Error()}
	}
	return outboundReply{}
}

// outboundTimeout bounds one outbound post, the client's retries included;
// a console waits a little longer for the reply (sendTimeout).
const outboundTimeout = 20 * time.Second

// asHospital rewrites body's context.provider_id and provider_uri to the
// hospital's, keeping every other value as it was (numbers included).
func (h *Hub) asHospital(body []byte) ([]byte, error) {
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return nil, err
	}
	c, ok := env["context"].(map[string]any)
	if !ok {
		return nil, errors.New("context is not an object")
	}
	c["provider_id"], c["provider_uri"] = h.cfg.ProviderID, h.cfg.ProviderURI
	return json.Marshal(env)
}

// Close stops serving outbound requests (those being posted finish; those
// not yet taken are left to another replica, or to the console's retry) and
// following presence. The HTTP server and the NATS connection are the
// caller's to close.
func (h *Hub) Close() {
	h.stop() // setup, if it still runs, gives up
	h.mu.Lock()
	h.closing = true
	sub := h.sub
	h.mu.Unlock()
	if sub != nil {
		_ = sub.Unsubscribe()
	}
	h.sends.Wait()
	h.keeping.Wait()
	if svc := h.front.Load(); svc != nil {
		svc.Wait()
	}
}

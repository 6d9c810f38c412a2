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
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

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
}

// Hub is one replica of the hospital's endpoint. It keeps in memory only
// what it reads back from NATS (when each console was last seen), so any
// number of replicas serve the same hospital.
type Hub struct {
	cfg     Config
	js      jetstream.JetStream
	server  *uhiclient.Server
	doctors map[string]bool
	log     *slog.Logger
	sub     *nats.Subscription
	workers chan struct{}
	sends   sync.WaitGroup
	stop    context.CancelFunc
	keeping sync.WaitGroup // ensure
	watched chan struct{}

	mu      sync.Mutex
	seen    map[string]time.Time // by Token
	closing bool                 // Close has begun: no new outbound post
}

// New sets up the stream, the presence bucket and each doctor's consumer
// (all idempotent, so replicas starting together agree), then follows the
// presence bucket and serves outbound requests until Close.
func New(ctx context.Context, cfg Config) (*Hub, error) {
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
		workers: make(chan struct{}, outboundWorkers), watched: make(chan struct{})}
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: Stream, Subjects: []string{inboundAll}, Storage: jetstream.FileStorage,
		Replicas: cfg.Replicas, MaxAge: holdFor, Duplicates: holdFor,
	}); err != nil {
		return nil, fmt.Errorf("hub: stream %s: %w", Stream, err)
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: PresenceBucket, History: 1, TTL: time.Hour, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("hub: bucket %s: %w", PresenceBucket, err)
	}
	// Each consumer keeps its state (what it delivered, what was acked) in
	// memory, replicated to the stream's servers, not in a file: with 100
	// consoles, the files' rewrites after every ack took the whole process
	// 2,277 µs of CPU a request, in memory 872 (BenchmarkHubToConsoles, 300
	// requests a second on two busy cores). What it costs: when every
	// server that holds a consumer restarts at once, the consumer starts
	// again from the oldest message the stream keeps (2 minutes), and the
	// consoles drop what they already took by message_id.
	for _, d := range cfg.Doctors {
		addr := strings.ToLower(strings.TrimSpace(d.Address))
		h.doctors[addr] = true
		if _, err := js.CreateOrUpdateConsumer(ctx, Stream, consumerConfig(addr)); err != nil {
			return nil, fmt.Errorf("hub: consumer for %s: %w", addr, err)
		}
	}
	wctx, stop := context.WithCancel(context.Background())
	h.stop = stop
	h.keeping.Go(func() { h.ensure(wctx) })
	w, err := kv.WatchAll(wctx)
	if err != nil {
		stop()
		return nil, fmt.Errorf("hub: watch %s: %w", PresenceBucket, err)
	}
	go h.watch(wctx, w)
	select {
	case <-h.watched:
	case <-ctx.Done():
		stop()
		return nil, fmt.Errorf("hub: presence not read: %w", ctx.Err())
	}
	h.server, err = uhiclient.NewServer("hub", uhiclient.WithVerifier(cfg.Verifier),
		uhiclient.WithDelivery(h.deliver), uhiclient.WithServerLogger(cfg.Log.With("part", "endpoint")),
		// Room for a chat attachment, as the console's own endpoint has;
		// what NATS cannot carry is refused in fit.
		uhiclient.WithMaxBody(uhiclient.MediaBodyLimit))
	if err != nil {
		stop()
		return nil, err
	}
	h.sub, err = cfg.Conn.QueueSubscribe(outboundAll, hubQueue, h.outbound)
	if err != nil {
		stop()
		return nil, fmt.Errorf("hub: subscribe %s: %w", outboundAll, err)
	}
	return h, nil
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

// watch keeps h.seen in step with the presence bucket until ctx ends.
func (h *Hub) watch(ctx context.Context, w jetstream.KeyWatcher) {
	defer func() { _ = w.Stop() }()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil { // the values there were at the start are all in
				if first {
					close(h.watched)
					first = false
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
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.cfg.Conn.IsConnected() {
			http.Error(w, "nats: "+h.cfg.Conn.Status().String(), http.StatusServiceUnavailable)
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
	seen, ok := h.lastSeen(addr)
	if now := h.cfg.Now(); !ok || now.Sub(seen) > h.cfg.Offline {
		when := "never seen"
		if ok {
			when = "last seen " + now.Sub(seen).Round(time.Second).String() + " ago"
		}
		return fmt.Errorf("%w: %v: %s (%s)", uhiclient.ErrNotAdmitted, ErrOffline, addr, when)
	}
	data, err := h.fit(in, body)
	if err != nil {
		return err
	}
	msg := nats.NewMsg(InboundSubject(addr))
	msg.Data = data
	if in.KeyID != "" {
		msg.Header.Set(headerKeyID, in.KeyID)
	}
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
	// this returns, and a resend after the patient was answered stored
	// that request's body under this message's id, on this doctor's
	// subject (TestNoPublishOutlivesItsAnswer). The patient's retry after
	// the 503 is the retry.
	f, err := h.js.PublishMsgAsync(msg, jetstream.WithMsgID(in.MessageID), jetstream.WithExpectStream(Stream),
		jetstream.WithRetryAttempts(0))
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	select {
	case ack := <-f.Ok():
		if ack.Duplicate {
			h.log.Debug("duplicate message_id dropped by JetStream", "message_id", in.MessageID, "receiver", addr)
		}
		return nil
	case err := <-f.Err():
		if errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
			return fmt.Errorf("nats: no acknowledgement from JetStream within %v", publishTimeout)
		}
		return fmt.Errorf("nats: %w", err)
	case <-ctx.Done():
		return fmt.Errorf("nats: %w", ctx.Err())
	}
}

// fit returns what to store for a message: its body as it came, or, when
// that is more than the NATS servers take in one message (1 MB unless their
// max_payload says otherwise), the envelope as decoded, whose person photos
// over the endpoint's image limit are already cleared. The patients'
// reference app puts a photo of a megabyte or more in every READY, and the
// console keeps no photo over that limit anyway; the signature was checked
// here, and consoles do not check it again. A message still too big (a
// large chat attachment) is refused for what it is: 413, not a retry.
func (h *Hub) fit(in *uhiclient.Inbound, body []byte) ([]byte, error) {
	limit := h.cfg.Conn.MaxPayload() - 4096 // room for the headers
	if int64(len(body)) <= limit {
		return body, nil
	}
	trimmed, err := uhiclient.Marshal(&in.Envelope)
	if err != nil {
		return nil, fmt.Errorf("re-encoding a message of %d bytes: %w", len(body), err)
	}
	if int64(len(trimmed)) > limit {
		return nil, fmt.Errorf("%w: %d bytes (%d without photos) is more than the hub's messaging carries (%d)",
			uhiclient.ErrBodyTooLarge, len(body), len(trimmed), limit)
	}
	h.log.Debug("message stored without its photos", "message_id", in.MessageID, "bytes", len(body), "stored", len(trimmed))
	return trimmed, nil
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
	if h.sub != nil {
		_ = h.sub.Unsubscribe()
	}
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	h.sends.Wait()
	h.stop()
	h.keeping.Wait()
}

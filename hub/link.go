package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"teleconsole/uhiclient"
)

// Link defaults.
const (
	// linkQueue is the capacity of a link's Signals and Chats channels.
	linkQueue = uhiclient.DefaultQueueSize
	// sendTimeout bounds an outbound request whose context has no
	// deadline: the hub's own bound and a little more.
	sendTimeout = outboundTimeout + 5*time.Second
	// maxImage is the largest person.image a link keeps, as the console's
	// own endpoint keeps (uhiclient.DefaultMaxImage).
	maxImage = uhiclient.DefaultMaxImage
	// rememberIDs is how many message_ids a link remembers, to drop what
	// JetStream delivers again after an acknowledgement it did not get.
	rememberIDs = 4096
	// closeTimeout bounds Close when its context has no deadline.
	closeTimeout = 2 * time.Second
)

// LinkConfig is what Dial needs.
type LinkConfig struct {
	// URL is the NATS server or servers, comma-separated.
	URL string
	// Doctor is the HPR address the console answers for.
	Doctor string
	// Options are extra NATS options: credentials, TLS.
	Options []nats.Option
	// User names the console's NATS user in what the link says of a
	// refusal (default: the user of a user and password, if any).
	User string
	// Log receives the link's log; nil discards.
	Log *slog.Logger
}

// Link is a console's connection to the hub: its inbound signalling comes
// from its own durable consumer, its outbound messages go to the hub, and
// it says every few seconds that it is there. It opens no listening port.
// It is the console's transport (app.Transport).
type Link struct {
	cfg       LinkConfig
	nc        *nats.Conn
	log       *slog.Logger
	signals   chan *uhiclient.Inbound
	chats     chan *uhiclient.Inbound
	stopped   chan error
	stop      context.CancelFunc
	beats     sync.WaitGroup
	cc        jetstream.ConsumeContext
	js        jetstream.JetStream
	closeOnce sync.Once

	mu    sync.Mutex
	media jetstream.ObjectStore // the doctor's media bucket, once bound
	seen  map[string]bool
	ring  []string
	next  int

	// refused is why NATS last refused the console's login (loginRefused),
	// until it is let in again.
	refused atomic.Pointer[string]
	// denied is the first permissions violation NATS reported on the
	// console's own subjects, until it reconnects; deniedNow is closed
	// at the first.
	denied    atomic.Pointer[error]
	deniedNow chan struct{}
	denyOnce  sync.Once
}

// Dial connects to NATS as the doctor's user. It fails when no NATS server
// can be reached now; once connected, the link reconnects for as long as
// it runs.
func Dial(cfg LinkConfig) (*Link, error) {
	if strings.TrimSpace(cfg.Doctor) == "" {
		return nil, errors.New("hub link: the doctor's HPR address is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	l := &Link{cfg: cfg, log: cfg.Log, signals: make(chan *uhiclient.Inbound, linkQueue),
		chats: make(chan *uhiclient.Inbound, linkQueue), stopped: make(chan error, 1),
		seen: map[string]bool{}, ring: make([]string, rememberIDs), deniedNow: make(chan struct{})}
	opts := append([]nats.Option{
		nats.Name("teleconsole " + cfg.Doctor),
		nats.CustomInboxPrefix(InboxPrefix(cfg.Doctor)),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			l.noteRefusal(err)
			l.log.Warn("hub disconnected", "err", err)
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			l.refused.Store(nil)
			l.denied.Store(nil)
			l.log.Info("hub reconnected", "server", nc.ConnectedUrl())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			l.noteRefusal(err)
			l.noteDenied(err)
			l.log.Warn("hub error", "err", err)
		}),
	}, cfg.Options...)
	nc, err := nats.Connect(cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to the hub at %s: %w", cfg.URL, err)
	}
	l.nc = nc
	if l.cfg.User == "" {
		l.cfg.User = nc.Opts.User
	}
	return l, nil
}

// ErrDenied means the console's NATS user may not use one of its doctor's
// own subjects (docs/hub.md, "Adding a doctor"): the hospital's IT must
// give it the permissions, and no wait mends it.
var ErrDenied = errors.New("the console's NATS user lacks its doctor's permissions")

// noteDenied keeps the first permissions violation NATS reports, which
// names the subject refused.
func (l *Link) noteDenied(err error) {
	if !errors.Is(err, nats.ErrPermissionViolation) {
		return
	}
	e := fmt.Errorf("%w: %s: %w", ErrDenied, deniedWords(l.cfg.User, err), nats.ErrPermissionViolation)
	if l.denied.CompareAndSwap(nil, &e) {
		l.log.Error("hub: permissions refused", "user", l.cfg.User, "err", err)
	}
	l.denyOnce.Do(func() { close(l.deniedNow) })
}

// Start says the console is there and takes its messages from its durable
// consumer, each new signalling message checked by admit (as
// uhiclient.WithAdmission's check) before it is queued. A message the check
// refuses is dropped: the hub has answered its sender already, and a
// patient's app READYs again until it is ACKed.
func (l *Link) Start(admit func(*uhiclient.Inbound) error) error {
	ctx, stop := context.WithCancel(context.Background())
	l.stop = stop
	js, err := jetstream.New(l.nc)
	if err != nil {
		return fmt.Errorf("hub link: %w", err)
	}
	l.js = js
	l.beat()
	cc, err := l.consume(ctx, js, admit)
	if err != nil {
		return err
	}
	l.setConsume(cc)
	l.beats.Go(func() {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				l.beat()
			}
		}
	})
	l.beats.Go(func() { l.keep(ctx, js, admit, cc) })
	return nil
}

// consume looks the doctor's consumer up and takes its messages.
func (l *Link) consume(ctx context.Context, js jetstream.JetStream, admit func(*uhiclient.Inbound) error) (jetstream.ConsumeContext, error) {
	ictx, cancel := context.WithTimeout(ctx, 10*time.Second)
	// A permissions violation ends the wait: the lookup it refused is
	// never answered.
	go func() {
		select {
		case <-l.deniedNow:
			// Closed at the first violation ever: one that a
			// reconnection has cleared since stops nothing.
			if l.denied.Load() != nil {
				cancel()
			}
		case <-ictx.Done():
		}
	}()
	cons, err := js.Consumer(ictx, Stream, Durable(l.cfg.Doctor))
	cancel()
	if d := l.denied.Load(); d != nil && err != nil {
		return nil, fmt.Errorf("hub link: %w", *d)
	}
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("hub link: %s: %w (the hub has no consumer for them)", l.cfg.Doctor, ErrNotRegistered)
		}
		return nil, fmt.Errorf("hub link: the consumer of %s: %w", l.cfg.Doctor, err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { l.take(m, admit) },
		jetstream.PullExpiry(5*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) { l.log.Debug("consume", "err", err) }))
	if err != nil {
		return nil, fmt.Errorf("hub link: consume: %w", err)
	}
	return cc, nil
}

// keep takes the messages again when the consumer stops on its own (its
// servers all restarted, an operator deleted it): the hubs make it again
// (Hub.ensure), and the link looks it up every second until then.
func (l *Link) keep(ctx context.Context, js jetstream.JetStream, admit func(*uhiclient.Inbound) error, cc jetstream.ConsumeContext) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-cc.Closed():
		}
		l.log.Warn("hub link: the consumer stopped; looking it up again")
		for {
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			next, err := l.consume(ctx, js, admit)
			if err != nil {
				l.log.Info("hub link: consumer not back yet", "err", err)
				continue
			}
			if ctx.Err() != nil {
				next.Stop()
				return
			}
			l.setConsume(next)
			cc = next
			l.log.Info("hub link: consumer back")
			break
		}
	}
}

func (l *Link) setConsume(cc jetstream.ConsumeContext) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cc = cc
}

func (l *Link) consuming() jetstream.ConsumeContext {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cc
}

// beat tells the hubs the console is there: a plain publish on its own
// presence key, which the presence bucket stores.
func (l *Link) beat() {
	if err := l.nc.Publish(presenceSubject(l.cfg.Doctor), []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
		l.log.Info("presence not sent", "err", err)
	}
}

// take decodes one message from the consumer and queues it; a message
// that does not fit in the queue is delivered again a second later.
func (l *Link) take(m jetstream.Msg, admit func(*uhiclient.Inbound) error) {
	in, err := uhiclient.Decode(m.Data())
	if err != nil {
		// The hub decoded it before storing it: nothing to retry.
		l.log.Warn("undecodable message from the hub dropped", "err", err)
		_ = m.Term()
		return
	}
	if !in.Envelope.Message.Intent.Chat.Receiver.Person.Is(l.cfg.Doctor) {
		// The hub stores a message on its receiver's subject alone; one
		// for another doctor there is the hub's fault, and is not shown
		// (TestLinkShowsNoOtherDoctorsMessage).
		l.log.Warn("message for another doctor dropped", "message_id", in.MessageID, "receiver", in.Receiver)
		_ = m.Term()
		return
	}
	if !l.remember(in.MessageID) {
		_ = m.Ack()
		return
	}
	var objects []string
	if in, objects, err = l.fetchMedia(m.Headers(), in); err != nil {
		// Not there yet, or NATS busy: the message comes again.
		l.forget(in.MessageID)
		l.log.Warn("a photo or attachment not fetched: message left for redelivery", "message_id", in.MessageID, "err", err)
		_ = m.NakWithDelay(time.Second)
		return
	}
	in.KeyID, in.ReceivedAt = m.Headers().Get(headerKeyID), time.Now()
	q := l.chats
	if in.Signal != nil {
		q = l.signals
		if admit != nil {
			// The check sees the photos whole (the console takes the
			// patient's there), as its own endpoint's does.
			if err := admit(in); err != nil {
				l.log.Info("message not admitted, dropped", "message_id", in.MessageID, "sender", in.Sender, "reason", err)
				_ = m.Ack()
				l.dropMedia(objects)
				return
			}
		}
	}
	chat := &in.Envelope.Message.Intent.Chat
	for _, p := range []*uhiclient.Person{&chat.Sender.Person, &chat.Receiver.Person} {
		if len(p.Image) > maxImage {
			p.Image = ""
		}
	}
	select {
	case q <- in:
		_ = m.Ack()
		l.dropMedia(objects)
	default:
		l.forget(in.MessageID)
		l.log.Warn("queue full: message left for redelivery", "message_id", in.MessageID)
		_ = m.NakWithDelay(time.Second)
	}
}

// remember records a message_id and says whether it was new.
func (l *Link) remember(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[id] {
		return false
	}
	if old := l.ring[l.next]; old != "" {
		delete(l.seen, old)
	}
	l.ring[l.next], l.seen[id] = id, true
	l.next = (l.next + 1) % len(l.ring)
	return true
}

func (l *Link) forget(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, id)
}

// Signals delivers the patients' signalling messages.
func (l *Link) Signals() <-chan *uhiclient.Inbound { return l.signals }

// Chats delivers the patients' chat messages.
func (l *Link) Chats() <-chan *uhiclient.Inbound { return l.chats }

// Stopped is closed when the link has stopped; it reports no error of its
// own, as the link reconnects until Close.
func (l *Link) Stopped() <-chan error { return l.stopped }

// Verification says who checks the patients' signatures: the hub.
func (l *Link) Verification() string { return "checked by the hub" }

// Reachable says whether the link is connected to NATS now.
func (l *Link) Reachable() bool { return l.nc.IsConnected() }

// Status is the link's state as the status bar shows it. When NATS
// refuses the console's login, it says so: the doctor (or the hospital's
// IT) has to act, where a network that has gone needs only waiting.
func (l *Link) Status() string {
	if d := l.denied.Load(); d != nil {
		return "hub REFUSED: " + strings.TrimSuffix(strings.TrimPrefix((*d).Error(), ErrDenied.Error()+": "),
			": "+nats.ErrPermissionViolation.Error())
	}
	if l.Reachable() {
		return "hub reachable"
	}
	// The client hands every refused login, at a reconnection too, to
	// the error handlers, which note it (noteRefusal).
	if why := l.refused.Load(); why != nil {
		return "hub UNREACHABLE: " + *why
	}
	return "hub UNREACHABLE"
}

// noteRefusal keeps why NATS refused the login, if err says it did. The
// server drops a console whose credentials expire with "authentication
// expired", and answers each reconnection after that with "authorization
// violation": the first says what the doctor must do, so it is kept.
func (l *Link) noteRefusal(err error) {
	why := loginRefused(err)
	if why == "" || (why == refusedPlain && l.refused.Load() != nil) {
		return
	}
	l.refused.Store(&why)
}

// deniedWords says a permissions violation in a few words: the user and
// what it may not do, on which subject.
func deniedWords(user string, err error) string {
	text := err.Error()
	const mark = "Permissions Violation for "
	i := strings.Index(text, mark)
	if i < 0 {
		return fmt.Sprintf("NATS user %q: %v", user, err)
	}
	what := text[i+len(mark):]
	what = strings.Replace(strings.Replace(what, "Publish to", "publish to", 1), "Subscription to", "subscribe to", 1)
	return fmt.Sprintf("NATS user %q may not %s", user, what)
}

// refusedPlain is a refused login that gives no reason.
const refusedPlain = "NATS login refused"

// loginRefused names what NATS said of the console's login, or returns ""
// when err is not a refused login.
func loginRefused(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, nats.ErrAuthExpired):
		return "NATS credentials expired"
	case errors.Is(err, nats.ErrAuthRevoked):
		return "NATS credentials revoked"
	case errors.Is(err, nats.ErrAuthorization):
		return refusedPlain
	}
	return ""
}

// Send has the hub post env to the patient at baseURI and returns what the
// patient answered (uhiclient.Sender): nil for an ACK, a
// *uhiclient.NackError for a NACK. A request no hub answers (none running,
// or NATS unreachable) is tried again until ctx ends; the patient drops a
// message_id it has already taken.
func (l *Link) Send(ctx context.Context, baseURI string, env *uhiclient.Envelope) error {
	body, err := uhiclient.Marshal(env)
	if err != nil {
		return fmt.Errorf("send through the hub: marshal: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, sendTimeout)
		defer cancel()
	}
	for attempt := 1; ; attempt++ {
		msg := nats.NewMsg(OutboundSubject(l.cfg.Doctor))
		msg.Header.Set(headerTarget, baseURI)
		msg.Data = body
		reply, err := l.nc.RequestMsgWithContext(ctx, msg)
		if err == nil {
			var r outboundReply
			if err := json.Unmarshal(reply.Data, &r); err != nil {
				return fmt.Errorf("send through the hub: bad reply: %w", err)
			}
			return r.err()
		}
		if errors.Is(err, nats.ErrMaxPayload) {
			// The NATS servers' max_payload (1 MB unless they say
			// otherwise), checked by the client before sending: no retry
			// makes the message smaller.
			return fmt.Errorf("send through the hub: %w: %d bytes is more than the hub's messaging carries (%d)",
				uhiclient.ErrBodyTooLarge, len(body), l.nc.MaxPayload())
		}
		if ctx.Err() != nil || errors.Is(err, nats.ErrConnectionClosed) {
			return fmt.Errorf("send through the hub: %w: %w (after %d attempts)", ErrHubUnreachable, err, attempt)
		}
		l.log.Debug("outbound request retried", "attempt", attempt, "err", err)
		t := time.NewTimer(min(time.Duration(attempt)*200*time.Millisecond, 2*time.Second))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("send through the hub: %w: %w (after %d attempts)", ErrHubUnreachable, err, attempt)
		case <-t.C:
		}
	}
}

// Close stops taking messages (one being taken finishes, its
// acknowledgement sent) and saying the console is there, within ctx (or
// closeTimeout): with NATS unreachable, the drain cannot finish. Send
// still works after it, so a console's last messages (a BYE, ACKs) go
// out; Disconnect closes the connection.
func (l *Link) Close(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, closeTimeout)
		defer cancel()
	}
	if l.stop != nil {
		l.stop() // first, so that keep does not take the drained consumer for a lost one
	}
	var err error
	if cc := l.consuming(); cc != nil {
		cc.Drain()
		select {
		case <-cc.Closed():
		case <-ctx.Done():
			cc.Stop()
			err = fmt.Errorf("hub link: consumer not drained: %w", ctx.Err())
		}
	}
	l.beats.Wait()
	l.closeOnce.Do(func() { close(l.stopped) })
	return err
}

// Disconnect closes the link's connection after what it has sent is
// flushed (within a second). Call it after Close.
func (l *Link) Disconnect() {
	if l.nc.IsConnected() {
		if err := l.nc.FlushTimeout(time.Second); err != nil {
			l.log.Info("hub link: not flushed", "err", err)
		}
	}
	l.nc.Close()
}

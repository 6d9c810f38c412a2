package uhiclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server limits and defaults.
const (
	// DefaultMaxBody is the largest accepted body: photos make ~2 MiB normal (docs/protocol.md §2).
	DefaultMaxBody = 2 << 20
	// DefaultQueueSize is the default capacity of each delivery channel.
	DefaultQueueSize = 128
	// DefaultMaxImage is the largest person.image kept in a delivered message.
	DefaultMaxImage = 64 << 10
	// DefaultDedupSize is how many recent message ids are remembered.
	DefaultDedupSize = 8192
	// DefaultDedupWindow is how long a message id is remembered at most.
	DefaultDedupWindow = 10 * time.Minute
	// DefaultBasePath is where the reference HSPA serves on_message.
	DefaultBasePath = "/api/v1"
	// AdmissionRetryAfter is the Retry-After of a NACK for a message the
	// admission check refused (WithAdmission). Such a refusal is about the
	// program's state, which changes at a person's pace (a waiting room
	// frees a place when the doctor is done with a patient), not at a
	// queue's: a retry a second later would be refused again. 5 s is how
	// often the patients' app READYs until it is ACKed (docs/guide.md).
	AdmissionRetryAfter = 5 * time.Second
)

// Server is the on_message endpoint (docs/protocol.md §1). It answers every request at
// once, ACK or NACK, and hands accepted messages to the program on two bounded
// channels, Signals and Chats, never blocking the reply on the reader. It is an
// http.Handler that works on any path; Handler mounts it on the usual ones.
//
// It serves either side of a consultation: the doctor's console passes its
// HPR address, a simulated patient its ABHA address.
type Server struct {
	local    []string
	verifier Verifier
	logger   *slog.Logger
	now      func() time.Time
	maxBody  int64
	drainFor time.Duration // lingering after an oversized request's NACK (linger.go)
	maxImage int
	maxMedia int
	basePath string
	signals  chan *Inbound
	chats    chan *Inbound
	dedup    *dedup
	admit    func(*Inbound) error
	deliver  Delivery
	bufs     sync.Pool
	stats    serverStats
}

type serverStats struct {
	accepted, duplicates, rejected, queueFull, notAdmitted atomic.Uint64
}

// Stats are the server's counters since it was made.
type Stats struct {
	// Accepted counts messages delivered to a channel.
	Accepted uint64
	// Duplicates counts repeated message_ids acknowledged and dropped.
	Duplicates uint64
	// Rejected counts NACKs for bad requests and signatures.
	Rejected uint64
	// QueueFull counts 503 NACKs because a channel was full.
	QueueFull uint64
	// NotAdmitted counts 503 NACKs because the admission check refused
	// a signalling message (WithAdmission).
	NotAdmitted uint64
}

// ServerOption configures a Server.
type ServerOption func(*Server) error

// WithVerifier sets request authentication (default NoVerification()).
func WithVerifier(v Verifier) ServerOption {
	return func(s *Server) error {
		if v == nil {
			return fmt.Errorf("%w: nil verifier", ErrBadOption)
		}
		s.verifier = v
		return nil
	}
}

// WithServerLogger sets the logger (default: discard).
func WithServerLogger(l *slog.Logger) ServerOption {
	return func(s *Server) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrBadOption)
		}
		s.logger = l
		return nil
	}
}

// WithServerClock sets the clock for ReceivedAt and de-duplication.
func WithServerClock(now func() time.Time) ServerOption {
	return func(s *Server) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		s.now = now
		return nil
	}
}

// WithQueueSize sets the capacity of the Signals and Chats channels.
func WithQueueSize(signals, chats int) ServerOption {
	return func(s *Server) error {
		if signals < 1 || chats < 1 {
			return fmt.Errorf("%w: queue sizes %d/%d", ErrBadOption, signals, chats)
		}
		s.signals, s.chats = make(chan *Inbound, signals), make(chan *Inbound, chats)
		return nil
	}
}

// WithDedup sets how many message ids are remembered and for how long.
func WithDedup(size int, window time.Duration) ServerOption {
	return func(s *Server) error {
		if size < 1 || window < 0 {
			return fmt.Errorf("%w: dedup %d/%s", ErrBadOption, size, window)
		}
		s.dedup = newDedup(size, window)
		return nil
	}
}

// WithAdmission sets a check that decides, before the reply is written,
// whether a signalling message is taken: ServeHTTP calls it for every new
// signalling message (not for chat, and not for a repeated message_id,
// which is answered with an ACK as before) once the message has passed
// every other check, just before it is queued on Signals. A nil error
// admits it; an error is the reply, a 503 NACK (CORE-ERROR, UHI-1503) with
// the error's text and a Retry-After of AdmissionRetryAfter, and the
// message is not queued and its message_id not remembered, so the
// sender's retry is checked afresh.
//
// The refusal is a 503, not a 4xx, because everything about the message
// itself has been checked by then: what is left to refuse is the
// program's state (a full waiting room), a temporary condition the sender
// should retry, as it retries a full queue.
//
// check sees the message whole, its photos not yet cleared (WithMaxImage).
//
// check runs on the request's goroutine, concurrently with itself and with
// the reader of Signals, and the reply waits for it: it must be quick and
// never block (an in-memory update). A message it admits may still be
// refused if the queue is full; the sender then retries it, so check must
// be safe to run again for the same message.
func WithAdmission(check func(*Inbound) error) ServerOption {
	return func(s *Server) error {
		if check == nil {
			return fmt.Errorf("%w: nil admission check", ErrBadOption)
		}
		s.admit = check
		return nil
	}
}

// Delivery hands an accepted message on, with the body it was decoded
// from, before the reply is written (see WithDelivery). ctx is the
// request's. body is the server's buffer, which the next request takes
// once the delivery returns: what keeps it longer must copy it.
type Delivery func(ctx context.Context, in *Inbound, body []byte) error

// WithDelivery makes the server hand every accepted message, signalling
// and chat alike, to d instead of queuing it on Signals or Chats, and
// reply only once d has returned: ACK when it returns nil. It is for a
// relay, such as a hub serving many doctors behind one endpoint, whose
// ACK must mean the message is held somewhere that outlives the request.
// d also decides whom the server serves: the server's own receiver check
// is not made (the local address names the relay in logs), and d refuses
// a message for no one it serves with an error that wraps ErrNotForMe,
// answered 400 as the server answers one; one it cannot carry with an error
// that wraps ErrBodyTooLarge, answered 413. An error that wraps
// ErrNotAdmitted is answered as WithAdmission's refusals are (503, retry
// after AdmissionRetryAfter); any other error is the relay's own trouble,
// a 503 the sender retries a second later. On every error the message_id
// is forgotten, so the retry is taken afresh. The admission check, if
// set, is not called.
func WithDelivery(d Delivery) ServerOption {
	return func(s *Server) error {
		if d == nil {
			return fmt.Errorf("%w: nil delivery", ErrBadOption)
		}
		s.deliver = d
		return nil
	}
}

// WithMaxBody sets the body size limit (default 2 MiB).
func WithMaxBody(n int64) ServerOption {
	return func(s *Server) error {
		if n < 1 {
			return fmt.Errorf("%w: max body %d", ErrBadOption, n)
		}
		s.maxBody = n
		return nil
	}
}

// WithMaxMedia sets the largest chat attachment carried in content_value
// (default DefaultMaxMedia): a larger one is NACKed with 413 (POLICY-ERROR,
// UHI-1413) at content_value, so the sender learns why. The body limit
// (WithMaxBody) must leave room for it as base64 (MediaBodyLimit).
func WithMaxMedia(n int) ServerOption {
	return func(s *Server) error {
		if n < 1 {
			return fmt.Errorf("%w: max media %d", ErrBadOption, n)
		}
		s.maxMedia = n
		return nil
	}
}

// WithMaxImage sets the largest person.image (a base64 photo, docs/protocol.md §2)
// kept in delivered messages; larger ones are cleared after the message is
// accepted, so a queue full of 2 MiB photos cannot pin hundreds of MiB
// (default 64 KiB; 0 keeps every image). The admission check
// (WithAdmission) still sees them: a program that keeps the photo takes it
// there.
func WithMaxImage(n int) ServerOption {
	return func(s *Server) error {
		if n < 0 {
			return fmt.Errorf("%w: max image %d", ErrBadOption, n)
		}
		s.maxImage = n
		return nil
	}
}

// WithExtraAddresses lets the server accept messages for more local
// addresses (several simulated patients behind one consumer_uri).
func WithExtraAddresses(addrs ...string) ServerOption {
	return func(s *Server) error {
		for _, a := range addrs {
			if a = strings.TrimSpace(a); a == "" {
				return fmt.Errorf("%w: empty address", ErrBadOption)
			}
			s.local = append(s.local, a)
		}
		return nil
	}
}

// WithBasePath sets the prefix Handler serves on_message under (default "/api/v1").
func WithBasePath(p string) ServerOption {
	return func(s *Server) error {
		p = "/" + strings.Trim(p, "/")
		if p == "/" {
			p = ""
		}
		s.basePath = p
		return nil
	}
}

// NewServer returns a Server that accepts messages whose receiver is
// localAddress (cred or id, case-insensitive; docs/protocol.md §3: drop messages whose
// receiver is not this doctor).
func NewServer(localAddress string, opts ...ServerOption) (*Server, error) {
	localAddress = strings.TrimSpace(localAddress)
	if localAddress == "" {
		return nil, fmt.Errorf("%w: empty local address", ErrBadOption)
	}
	s := &Server{
		local:    []string{localAddress},
		verifier: NoVerification(),
		logger:   slog.New(slog.DiscardHandler),
		now:      time.Now,
		maxBody:  DefaultMaxBody,
		drainFor: DefaultLingerTime,
		maxImage: DefaultMaxImage,
		maxMedia: DefaultMaxMedia,
		basePath: DefaultBasePath,
		signals:  make(chan *Inbound, DefaultQueueSize),
		chats:    make(chan *Inbound, DefaultQueueSize),
		dedup:    newDedup(DefaultDedupSize, DefaultDedupWindow),
	}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Signals delivers accepted signalling messages (Inbound.Signal set). It is
// never closed; read it until your context ends. While it is full, new
// messages are refused with 503 so senders retry.
func (s *Server) Signals() <-chan *Inbound { return s.signals }

// Chats delivers accepted chat messages (Inbound.Chat set), kept apart from
// signalling (docs/protocol.md §2). Same rules as Signals: read it, or chat senders get 503.
func (s *Server) Chats() <-chan *Inbound { return s.chats }

// Verification describes the authentication in force, for display.
func (s *Server) Verification() string { return s.verifier.String() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	return Stats{
		Accepted: s.stats.accepted.Load(), Duplicates: s.stats.duplicates.Load(),
		Rejected: s.stats.rejected.Load(), QueueFull: s.stats.queueFull.Load(),
		NotAdmitted: s.stats.notAdmitted.Load(),
	}
}

// Handler returns a mux serving the endpoint at basePath + "/on_message"
// (default "/api/v1/on_message") and at "/on_message".
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Mount(mux)
	return mux
}

// Mount adds the endpoint to mux at basePath + "/on_message" and at
// "/on_message", beside others (the booking endpoints, BookingServer.Mount).
func (s *Server) Mount(mux *http.ServeMux) {
	mux.Handle(s.basePath+"/on_message", s)
	if s.basePath != "" {
		mux.Handle("/on_message", s)
	}
}

// HTTPServer returns an *http.Server for addr serving Handler, with timeouts
// so a slow or half-open client cannot pin it, and errors logged to the
// server's logger.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       20 * time.Second, // a 2 MiB photo on a slow clinic link
		WriteTimeout:      30 * time.Second, // counts from the request's start, so > ReadTimeout
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
}

// ServeHTTP implements the on_message endpoint (docs/protocol.md §1).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, r, http.StatusMethodNotAllowed, ErrorBody{Type: TypeContext, Code: CodeBadRequest,
			Message: "method " + r.Method + " not allowed; use POST"})
		return
	}
	if r.ContentLength > s.maxBody {
		s.tooLarge(w, r, 0)
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + bytes.MinRead) // one allocation for a large photo
	}
	defer func() {
		if buf.Cap() <= 256<<10 { // keep photo-sized buffers out of the pool
			s.bufs.Put(buf)
		}
	}()
	if n, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.maxBody)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.tooLarge(w, r, n)
			return
		}
		s.reject(w, r, http.StatusBadRequest, ErrorBody{Type: TypeSchema, Code: CodeInvalidJSON, Path: pathBody,
			Message: "could not read body: " + err.Error()})
		return
	}
	body := buf.Bytes()

	keyID, err := s.verifier.Verify(r.Context(), r.Header, body)
	if err != nil {
		s.authFailed(w, r, err)
		return
	}
	in, err := Decode(body)
	if err != nil {
		e := ErrorBody{Type: TypeSchema, Code: CodeInvalidJSON, Path: pathBody, Message: err.Error()}
		var fe *FieldError
		if errors.As(err, &fe) {
			e.Path = fe.Path
		}
		s.reject(w, r, http.StatusBadRequest, e)
		return
	}
	if s.deliver == nil && !s.forMe(in) {
		s.reject(w, r, http.StatusBadRequest, ErrorBody{Type: TypeContext, Code: CodeBadRequest, Path: pathReceiverCred,
			Message: fmt.Sprintf("%v: receiver %q is not %s", ErrNotForMe, in.Receiver, strings.Join(s.local, ", "))})
		return
	}
	if in.Chat != nil && strings.EqualFold(in.Chat.ContentType, ContentTypeMedia) {
		if n := MediaSize(in.Chat.Value); n > s.maxMedia {
			s.reject(w, r, http.StatusRequestEntityTooLarge, ErrorBody{Type: TypePolicy, Code: CodeTooLarge,
				Path:    pathChat + pathContentSuffix + ".content_value",
				Message: fmt.Sprintf("%v: %d bytes, limit %d", ErrMediaTooLarge, n, s.maxMedia)})
			return
		}
	}
	now := s.now()
	in.KeyID, in.ReceivedAt = keyID, now
	if !s.dedup.add(in.MessageID, now) {
		s.stats.duplicates.Add(1)
		s.logger.Debug("on_message duplicate dropped", "message_id", in.MessageID, "sender", in.Sender)
		writeAck(w)
		return
	}
	if s.deliver != nil {
		s.clearImages(in)
		s.handOn(w, r, in, body)
		return
	}
	q := s.chats
	if in.Signal != nil {
		q = s.signals
		if s.admit != nil {
			if err := s.admit(in); err != nil {
				s.notAdmitted(w, in, err)
				return
			}
		}
	}
	s.clearImages(in)
	select {
	case q <- in:
	default:
		s.dedup.forget(in.MessageID)
		s.stats.queueFull.Add(1)
		s.logger.Warn("on_message refused: queue full", "message_id", in.MessageID, "sender", in.Sender)
		w.Header().Set("Retry-After", "1")
		writeNack(w, http.StatusServiceUnavailable, ErrorBody{Type: TypeCore, Code: CodeUnavailable,
			Message: ErrQueueFull.Error() + "; retry later"})
		return
	}
	s.stats.accepted.Add(1)
	writeAck(w)
}

// clearImages clears the photos over the image limit from a message
// about to be queued or handed on (WithMaxImage).
func (s *Server) clearImages(in *Inbound) {
	if s.maxImage <= 0 {
		return
	}
	chat := &in.Envelope.Message.Intent.Chat
	for _, p := range []*Person{&chat.Sender.Person, &chat.Receiver.Person} {
		if len(p.Image) > s.maxImage {
			p.Image = ""
		}
	}
}

// handOn gives an accepted message to the delivery and replies with what
// it says (see WithDelivery).
func (s *Server) handOn(w http.ResponseWriter, r *http.Request, in *Inbound, body []byte) {
	err := s.deliver(r.Context(), in, body)
	switch {
	case err == nil:
		s.stats.accepted.Add(1)
		writeAck(w)
	case errors.Is(err, ErrNotForMe):
		s.dedup.forget(in.MessageID)
		s.reject(w, r, http.StatusBadRequest, ErrorBody{Type: TypeContext, Code: CodeBadRequest, Path: pathReceiverCred,
			Message: err.Error()})
	case errors.Is(err, ErrBodyTooLarge):
		s.dedup.forget(in.MessageID)
		s.reject(w, r, http.StatusRequestEntityTooLarge, ErrorBody{Type: TypePolicy, Code: CodeTooLarge, Path: pathBody,
			Message: err.Error()})
	case errors.Is(err, ErrNotAdmitted):
		s.dedup.forget(in.MessageID)
		s.stats.notAdmitted.Add(1)
		s.logger.Info("on_message refused: not admitted", "message_id", in.MessageID, "receiver", in.Receiver, "reason", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(AdmissionRetryAfter/time.Second)))
		writeNack(w, http.StatusServiceUnavailable, ErrorBody{Type: TypeCore, Code: CodeUnavailable,
			Message: err.Error() + "; retry later"})
	default:
		s.dedup.forget(in.MessageID)
		s.stats.queueFull.Add(1)
		s.logger.Warn("on_message refused: not delivered", "message_id", in.MessageID, "receiver", in.Receiver, "err", err)
		w.Header().Set("Retry-After", "1")
		writeNack(w, http.StatusServiceUnavailable, ErrorBody{Type: TypeCore, Code: CodeUnavailable,
			Message: "not delivered: " + err.Error() + "; retry later"})
	}
}

// notAdmitted answers a signalling message the admission check refused
// with err (see WithAdmission).
func (s *Server) notAdmitted(w http.ResponseWriter, in *Inbound, err error) {
	s.dedup.forget(in.MessageID)
	s.stats.notAdmitted.Add(1)
	s.logger.Info("on_message refused: not admitted", "message_id", in.MessageID, "sender", in.Sender,
		"type", in.Signal.Type.String(), "reason", err)
	w.Header().Set("Retry-After", strconv.Itoa(int(AdmissionRetryAfter/time.Second)))
	writeNack(w, http.StatusServiceUnavailable, ErrorBody{Type: TypeCore, Code: CodeUnavailable,
		Message: fmt.Sprintf("%v: %v; retry later", ErrNotAdmitted, err)})
}

func (s *Server) forMe(in *Inbound) bool {
	p := in.Envelope.Message.Intent.Chat.Receiver.Person
	for _, a := range s.local {
		if p.Is(a) {
			return true
		}
	}
	return false
}

// authFailed maps signature errors to docs/protocol.md §1's codes.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	status, e := authNack(w, "Authorization", err)
	s.reject(w, r, status, e)
}

// authNack maps a signature error on header to its HTTP status and NACK
// body (docs/protocol.md §1), and sets Retry-After when the sender should retry.
func authNack(w http.ResponseWriter, header string, err error) (int, ErrorBody) {
	e := ErrorBody{Type: TypePolicy, Code: CodeHeaderFailed, Path: header, Message: err.Error()}
	status := http.StatusUnauthorized
	switch {
	case errors.Is(err, ErrMissingSignature):
		e.Code = CodeAuthMissing
	case errors.Is(err, ErrBadSignature), errors.Is(err, ErrDigestMismatch):
		e.Code = CodeInvalidSignature
	case !IsAuthError(err):
		// The key source is down: not the sender's fault, let it retry.
		status, e.Type, e.Code = http.StatusServiceUnavailable, TypeCore, CodeUnavailable
		w.Header().Set("Retry-After", "1")
	}
	return status, e
}

func (s *Server) reject(w http.ResponseWriter, r *http.Request, status int, e ErrorBody) {
	s.stats.rejected.Add(1)
	s.logger.Info("on_message NACK", "status", status, "code", e.Code, "path", e.Path, "reason", e.Message,
		"remote", r.RemoteAddr)
	writeNack(w, status, e)
}

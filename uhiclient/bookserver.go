package uhiclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Booking server defaults (docs/protocol.md §8).
const (
	// DefaultBookingWorkers is how many booking requests are handled at once.
	DefaultBookingWorkers = 4
	// DefaultBookingQueue is how many accepted requests may wait for a worker.
	DefaultBookingQueue = 256
	// DefaultBookingMaxBody is the largest booking body: a catalog search
	// or an order is a few KiB; 256 KiB leaves room for a photo URL or a
	// small base64 one in a customer's details.
	DefaultBookingMaxBody = 256 << 10
)

// BookingEndpoints are the actions the HSPA serves, each at
// basePath + "/" + action (docs/protocol.md §8).
var bookingEndpoints = [...]string{ActionSearch, ActionInit, ActionConfirm, ActionStatus, ActionCancel, ActionOnUpdate}

// BookingEndpoints returns the actions a BookingServer serves: search,
// init, confirm, status, cancel and on_update.
func BookingEndpoints() []string { return slices.Clone(bookingEndpoints[:]) }

// BookingRequest is one accepted booking request, handed to the handler
// after the ACK.
type BookingRequest struct {
	// Action is the endpoint's action (search, init, ...).
	Action string
	// Envelope is the decoded body (DecodeBooking).
	Envelope *BookingEnvelope
	// KeyID is the sender's verified keyId ("" when verification is off).
	KeyID string
	// ViaGateway is true for a search the gateway forwarded (it carried
	// X-Gateway-Authorization, which verified): its on_search goes to the
	// gateway. A search without it is the patient app's own, answered at
	// context.consumer_uri.
	ViaGateway bool
	// GatewayKeyID is the gateway's verified keyId, when ViaGateway.
	GatewayKeyID string
	// ReceivedAt is when the request was received.
	ReceivedAt time.Time
}

// BookingHandler acts on an accepted booking request: it decides and
// posts the callback. It runs on one of the server's workers, never on
// the request's goroutine; ctx is Run's.
type BookingHandler func(ctx context.Context, req *BookingRequest)

// BookingServer serves the HSPA's booking endpoints (docs/protocol.md §8):
// POST search, init, confirm, status, cancel and on_update. Each request
// is checked (method, size, signature, and for a search the gateway's
// signature when it carries one), decoded, de-duplicated by message_id and
// ACKed at once; the handler then gets it on a bounded pool of workers.
// When the queue is full the request is refused with 503 and Retry-After,
// never dropped and never waited for.
type BookingServer struct {
	handle   BookingHandler
	verifier Verifier
	gateway  Verifier
	logger   *slog.Logger
	now      func() time.Time
	maxBody  int64
	basePath string
	workers  int
	queue    chan *BookingRequest
	dedup    *dedup
	running  atomic.Bool
	stats    serverStats
}

// BookingOption configures a BookingServer.
type BookingOption func(*BookingServer) error

// WithBookingVerifier checks the Authorization signature of every request
// (default NoVerification()).
func WithBookingVerifier(v Verifier) BookingOption {
	return func(s *BookingServer) error {
		if v == nil {
			return fmt.Errorf("%w: nil verifier", ErrBadOption)
		}
		s.verifier = v
		return nil
	}
}

// WithGatewayVerifier checks X-Gateway-Authorization on a search that
// carries it: a SignatureVerifier made WithSignatureHeader(
// GatewayAuthorizationHeader) over the gateway's key (default
// NoVerification(): the header marks the search as the gateway's unchecked).
func WithGatewayVerifier(v Verifier) BookingOption {
	return func(s *BookingServer) error {
		if v == nil {
			return fmt.Errorf("%w: nil gateway verifier", ErrBadOption)
		}
		s.gateway = v
		return nil
	}
}

// WithBookingLogger sets the logger (default: discard).
func WithBookingLogger(l *slog.Logger) BookingOption {
	return func(s *BookingServer) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrBadOption)
		}
		s.logger = l
		return nil
	}
}

// WithBookingClock sets the clock of ReceivedAt and de-duplication.
func WithBookingClock(now func() time.Time) BookingOption {
	return func(s *BookingServer) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		s.now = now
		return nil
	}
}

// WithBookingMaxBody sets the body limit (default DefaultBookingMaxBody).
func WithBookingMaxBody(n int64) BookingOption {
	return func(s *BookingServer) error {
		if n < 1 {
			return fmt.Errorf("%w: max body %d", ErrBadOption, n)
		}
		s.maxBody = n
		return nil
	}
}

// WithBookingWorkers sets how many requests are handled at once and how
// many accepted ones may wait (defaults DefaultBookingWorkers,
// DefaultBookingQueue).
func WithBookingWorkers(workers, queue int) BookingOption {
	return func(s *BookingServer) error {
		if workers < 1 || queue < 1 {
			return fmt.Errorf("%w: %d workers, queue %d", ErrBadOption, workers, queue)
		}
		s.workers, s.queue = workers, make(chan *BookingRequest, queue)
		return nil
	}
}

// WithBookingDedup sets how many message ids are remembered and for how long.
func WithBookingDedup(size int, window time.Duration) BookingOption {
	return func(s *BookingServer) error {
		if size < 1 || window < 0 {
			return fmt.Errorf("%w: dedup %d/%s", ErrBadOption, size, window)
		}
		s.dedup = newDedup(size, window)
		return nil
	}
}

// WithBookingBasePath sets the prefix Handler serves under (default "/api/v1").
func WithBookingBasePath(p string) BookingOption {
	return func(s *BookingServer) error {
		p = "/" + strings.Trim(p, "/")
		if p == "/" {
			p = ""
		}
		s.basePath = p
		return nil
	}
}

// NewBookingServer returns a server that hands accepted requests to
// handle. Nothing is handled until Run is called; requests accepted
// before wait in the queue.
func NewBookingServer(handle BookingHandler, opts ...BookingOption) (*BookingServer, error) {
	if handle == nil {
		return nil, fmt.Errorf("%w: nil booking handler", ErrBadOption)
	}
	s := &BookingServer{
		handle:   handle,
		verifier: NoVerification(),
		gateway:  NoVerification(),
		logger:   slog.New(slog.DiscardHandler),
		now:      time.Now,
		maxBody:  DefaultBookingMaxBody,
		basePath: DefaultBasePath,
		workers:  DefaultBookingWorkers,
		queue:    make(chan *BookingRequest, DefaultBookingQueue),
		dedup:    newDedup(DefaultDedupSize, DefaultDedupWindow),
	}
	for _, o := range opts {
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Run hands queued requests to the handler on the server's workers until
// ctx ends, then waits for the handlers running to return. It may be
// called once.
func (s *BookingServer) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("uhiclient: BookingServer.Run called twice")
	}
	var wg sync.WaitGroup
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case req := <-s.queue:
					s.handle(ctx, req)
				}
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// Stats returns the counters (NotAdmitted stays 0).
func (s *BookingServer) Stats() Stats {
	return Stats{Accepted: s.stats.accepted.Load(), Duplicates: s.stats.duplicates.Load(),
		Rejected: s.stats.rejected.Load(), QueueFull: s.stats.queueFull.Load()}
}

// Handler returns a mux serving each endpoint at basePath + "/" + action
// (default "/api/v1/search" ...) and at "/" + action.
func (s *BookingServer) Handler() http.Handler {
	mux := http.NewServeMux()
	s.Mount(mux)
	return mux
}

// Mount adds the endpoints to mux, beside others (on_message).
func (s *BookingServer) Mount(mux *http.ServeMux) {
	for _, a := range bookingEndpoints {
		mux.Handle(s.basePath+"/"+a, s)
		if s.basePath != "" {
			mux.Handle("/"+a, s)
		}
	}
}

// ServeHTTP serves one booking endpoint, chosen by the path's last element
// (docs/protocol.md §8).
func (s *BookingServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	known := false
	for _, a := range bookingEndpoints {
		known = known || a == action
	}
	if !known {
		s.reject(w, r, http.StatusNotFound, ErrorBody{Type: TypeContext, Code: CodeBadRequest, Path: "path",
			Message: fmt.Sprintf("no booking endpoint %q; this HSPA serves %s", action, strings.Join(bookingEndpoints[:], ", "))})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, r, http.StatusMethodNotAllowed, ErrorBody{Type: TypeContext, Code: CodeBadRequest,
			Message: "method " + r.Method + " not allowed; use POST"})
		return
	}
	if r.ContentLength > s.maxBody {
		w.Header().Set("Connection", "close")
		s.reject(w, r, http.StatusRequestEntityTooLarge, ErrorBody{Type: TypePolicy, Code: CodeTooLarge, Path: pathBody,
			Message: fmt.Sprintf("%v: limit is %d bytes", ErrBodyTooLarge, s.maxBody)})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.Header().Set("Connection", "close")
			s.reject(w, r, http.StatusRequestEntityTooLarge, ErrorBody{Type: TypePolicy, Code: CodeTooLarge, Path: pathBody,
				Message: fmt.Sprintf("%v: limit is %d bytes", ErrBodyTooLarge, s.maxBody)})
			return
		}
		s.reject(w, r, http.StatusBadRequest, ErrorBody{Type: TypeSchema, Code: CodeInvalidJSON, Path: pathBody,
			Message: "could not read body: " + err.Error()})
		return
	}
	keyID, err := s.verifier.Verify(r.Context(), r.Header, body)
	if err != nil {
		status, e := authNack(w, "Authorization", err)
		s.reject(w, r, status, e)
		return
	}
	req := &BookingRequest{Action: action, KeyID: keyID}
	if action == ActionSearch && strings.TrimSpace(r.Header.Get(GatewayAuthorizationHeader)) != "" {
		gw, err := s.gateway.Verify(r.Context(), r.Header, body)
		if err != nil {
			status, e := authNack(w, GatewayAuthorizationHeader, err)
			s.reject(w, r, status, e)
			return
		}
		req.ViaGateway, req.GatewayKeyID = true, gw
	}
	env, err := DecodeBooking(action, body)
	if err != nil {
		e := ErrorBody{Type: TypeSchema, Code: CodeInvalidJSON, Path: pathBody, Message: err.Error()}
		var fe *FieldError
		if errors.As(err, &fe) {
			e.Path = fe.Path
		}
		s.reject(w, r, http.StatusBadRequest, e)
		return
	}
	req.Envelope, req.ReceivedAt = env, s.now()
	id := action + "|" + env.Context.MessageID
	if !s.dedup.add(id, req.ReceivedAt) {
		s.stats.duplicates.Add(1)
		s.logger.Debug("booking duplicate dropped", "action", action, "message_id", env.Context.MessageID)
		writeAck(w)
		return
	}
	select {
	case s.queue <- req:
	default:
		s.dedup.forget(id)
		s.stats.queueFull.Add(1)
		s.logger.Warn("booking refused: queue full", "action", action, "message_id", env.Context.MessageID,
			"transaction_id", env.Context.TransactionID)
		w.Header().Set("Retry-After", "1")
		writeNack(w, http.StatusServiceUnavailable, ErrorBody{Type: TypeCore, Code: CodeUnavailable,
			Message: ErrQueueFull.Error() + "; retry later"})
		return
	}
	s.stats.accepted.Add(1)
	writeAck(w)
}

func (s *BookingServer) reject(w http.ResponseWriter, r *http.Request, status int, e ErrorBody) {
	s.stats.rejected.Add(1)
	s.logger.Info("booking NACK", "path", r.URL.Path, "status", status, "code", e.Code, "field", e.Path,
		"reason", e.Message, "remote", r.RemoteAddr)
	writeNack(w, status, e)
}

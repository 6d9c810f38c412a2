package euatest

import (
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Message is one request a fake received.
type Message struct {
	// Endpoint is the last element of the request path: "search",
	// "on_search", "on_confirm_audit", "lookup", "on_init"...
	Endpoint string
	// Action, TransactionID and MessageID are from the body's context.
	Action, TransactionID, MessageID string
	// Header is the request's header.
	Header http.Header
	// Body is the exact body.
	Body []byte
	// JSON is the decoded body (nil when it is not a JSON object).
	JSON map[string]any
	// Err is nil when the request was verified and acknowledged, else why it
	// was refused with a NACK.
	Err error
	// At is when it arrived.
	At time.Time
}

// Forward is one request the gateway sent on.
type Forward struct {
	// Action is "search" or "on_search".
	Action string
	// TransactionID is the body's context.transaction_id.
	TransactionID string
	// URL is where it went.
	URL string
	// Header is what was sent: Authorization and X-Gateway-Authorization.
	Header http.Header
	// Body is the forwarded body (the received bytes, unchanged).
	Body []byte
	// Reply is the receiver's answer; Err a transport failure.
	Reply Reply
	Err   error
}

// recorder keeps what arrived and lets tests wait for it. Wait hands out
// each accepted message once, in arrival order.
type recorder struct {
	mu      sync.Mutex
	items   []Message
	taken   []bool
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{})} }

func (r *recorder) add(m Message) {
	r.mu.Lock()
	r.items = append(r.items, m)
	r.taken = append(r.taken, false)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

func (r *recorder) all() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.items...)
}

// wait returns the first accepted, not yet returned message that match
// accepts, waiting up to timeout.
func (r *recorder) wait(timeout time.Duration, what string, match func(Message) bool) (Message, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		for i, m := range r.items {
			if !r.taken[i] && m.Err == nil && match(m) {
				r.taken[i] = true
				r.mu.Unlock()
				return m, nil
			}
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return Message{}, fmt.Errorf("euatest: no %s within %s", what, timeout)
		}
	}
}

// message fills a Message from a request whose body was read.
func message(endpoint string, r *http.Request, body []byte, m map[string]any, err error) Message {
	return Message{
		Endpoint: endpoint, Header: r.Header.Clone(), Body: body, JSON: m, Err: err, At: time.Now(),
		Action:        Str(m, "context.action"),
		TransactionID: Str(m, "context.transaction_id"),
		MessageID:     Str(m, "context.message_id"),
	}
}

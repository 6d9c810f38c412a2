package uhiclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sender posts an envelope to a peer's on_message endpoint at baseURI
// (docs/protocol.md §1). A Client does it over HTTP; a console behind a hub
// has the hub do it for it.
type Sender interface {
	Send(ctx context.Context, baseURI string, env *Envelope) error
}

// Client posts envelopes to a peer's on_message endpoint (docs/protocol.md §1:
// POST {consumer_uri}/on_message from the doctor's side, {provider_uri}/on_message
// from the patient's), signed when a Signer is set, with bounded retries.
type Client struct {
	http        *http.Client
	signer      *Signer
	logger      *slog.Logger
	attempts    int
	baseBackoff time.Duration
	maxBackoff  time.Duration
	jitter      func(time.Duration) time.Duration
	sleep       func(context.Context, time.Duration) error
}

// ClientOption configures a Client.
type ClientOption func(*Client) error

// WithHTTPClient sets the HTTP client (default: own client with a 10 s timeout;
// never http.DefaultClient).
func WithHTTPClient(c *http.Client) ClientOption {
	return func(cl *Client) error {
		if c == nil {
			return fmt.Errorf("%w: nil http client", ErrBadOption)
		}
		cl.http = c
		return nil
	}
}

// WithSigner signs every request with s (docs/protocol.md §5).
func WithSigner(s *Signer) ClientOption {
	return func(cl *Client) error {
		if s == nil {
			return fmt.Errorf("%w: nil signer", ErrBadOption)
		}
		cl.signer = s
		return nil
	}
}

// WithClientLogger sets the logger (default: discard).
func WithClientLogger(l *slog.Logger) ClientOption {
	return func(cl *Client) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrBadOption)
		}
		cl.logger = l
		return nil
	}
}

// WithRetry sets the number of attempts (>= 1) and the exponential backoff
// bounds; defaults 4 attempts, 200 ms doubling up to 2 s, with full jitter.
func WithRetry(attempts int, base, maxBackoff time.Duration) ClientOption {
	return func(cl *Client) error {
		if attempts < 1 || base <= 0 || maxBackoff < base {
			return fmt.Errorf("%w: retry %d attempts, %s..%s", ErrBadOption, attempts, base, maxBackoff)
		}
		cl.attempts, cl.baseBackoff, cl.maxBackoff = attempts, base, maxBackoff
		return nil
	}
}

// NewClient returns a Client.
func NewClient(opts ...ClientOption) (*Client, error) {
	c := &Client{
		http:        &http.Client{Timeout: 10 * time.Second},
		logger:      slog.New(slog.DiscardHandler),
		attempts:    4,
		baseBackoff: 200 * time.Millisecond,
		maxBackoff:  2 * time.Second,
		jitter:      func(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) },
		sleep:       sleepCtx,
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Send marshals env and posts it to baseURI + "/on_message".
func (c *Client) Send(ctx context.Context, baseURI string, env *Envelope) error {
	body, err := Marshal(env)
	if err != nil {
		return fmt.Errorf("send on_message: marshal: %w", err)
	}
	return c.Post(ctx, baseURI, body)
}

// Post sends an already-encoded body to baseURI + "/on_message": it is
// PostAction with ActionOnMessage.
func (c *Client) Post(ctx context.Context, baseURI string, body []byte) error {
	return c.PostAction(ctx, baseURI, ActionOnMessage, body)
}

// SendBooking marshals a booking message and posts it to baseURI + "/" +
// its context.action (docs/protocol.md §8): a callback to the patient's
// consumer_uri, or an on_search to the gateway.
func (c *Client) SendBooking(ctx context.Context, baseURI string, env *BookingEnvelope) error {
	action := strings.TrimSpace(env.Context.Action)
	if action == "" {
		return fmt.Errorf("send booking: %w: empty context.action", ErrBadOption)
	}
	body, err := MarshalBooking(env)
	if err != nil {
		return fmt.Errorf("send %s: marshal: %w", action, err)
	}
	return c.PostAction(ctx, baseURI, action, body)
}

// PostAction sends an already-encoded body to baseURI + "/" + action
// (on_message, on_confirm, or a gateway's on_confirm_audit, AuditAction).
// It retries network errors and 5xx replies with exponential backoff and
// jitter, never a 4xx; a refusal is returned as *NackError. Each attempt is
// signed afresh, so a late retry carries a valid window; the receiver
// de-duplicates by message_id.
func (c *Client) PostAction(ctx context.Context, baseURI, action string, body []byte) error {
	action = strings.Trim(strings.TrimSpace(action), "/")
	if action == "" {
		return fmt.Errorf("send: %w: empty action", ErrBadOption)
	}
	target, err := JoinURI(baseURI, action)
	if err != nil {
		return fmt.Errorf("send %s: %w", action, err)
	}
	var last error
	for attempt := 1; ; attempt++ {
		retryAfter, err := c.try(ctx, target, body)
		if err == nil {
			return nil
		}
		last = err
		var nack *NackError
		if errors.As(err, &nack) && !nack.Temporary() {
			return err
		}
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			return fmt.Errorf("send %s to %s: %w", action, target, err) // retrying will not fix a certificate
		}
		if ctx.Err() != nil || attempt >= c.attempts {
			break
		}
		wait := c.backoff(attempt)
		if retryAfter > wait {
			wait = min(retryAfter, c.maxBackoff)
		}
		c.logger.Debug(action+" retry", "url", target, "attempt", attempt, "wait", wait, "err", err)
		if err := c.sleep(ctx, wait); err != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("send %s to %s: %w (last error: %v)", action, target, ctx.Err(), last)
	}
	return fmt.Errorf("send %s to %s after %d attempts: %w", action, target, c.attempts, last)
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.baseBackoff << (attempt - 1)
	if d <= 0 || d > c.maxBackoff {
		d = c.maxBackoff
	}
	return c.jitter(d)
}

// try makes one attempt; it returns the server's Retry-After hint, if any.
func (c *Client) try(ctx context.Context, target string, body []byte) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.signer != nil {
		req.Header.Set("Authorization", c.signer.Sign(body))
		req.Header.Set("Digest", DigestHeaderPrefix+Digest(body))
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var retryAfter time.Duration
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return retryAfter, parseAck(resp.StatusCode, reply)
}

// parseAck reads the reply of docs/protocol.md §1: nil for HTTP 2xx with an ACK (or
// an empty body), *NackError otherwise.
func parseAck(status int, reply []byte) error {
	var r ackReply
	jsonErr := json.Unmarshal(reply, &r)
	ok := status >= 200 && status < 300
	if ok && (len(bytes.TrimSpace(reply)) == 0 || jsonErr != nil || !strings.EqualFold(r.Message.Ack.Status, "NACK")) {
		return nil
	}
	n := &NackError{HTTPStatus: status}
	if jsonErr == nil && r.Error != nil {
		n.Type, n.Code, n.Path, n.Message = r.Error.Type, r.Error.Code, r.Error.Path, r.Error.Message
	} else if !ok {
		n.Message = truncate(strings.TrimSpace(string(reply)), 200)
	}
	return n
}

// JoinURI appends one path element to a base URI, with exactly one '/'
// between them whatever trailing slashes the base has ("https://h/api/v1/" +
// "on_message" = "https://h/api/v1/on_message"). Queries are kept.
func JoinURI(base, elem string) (string, error) {
	u, err := parsePeerURI(base)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/" + strings.TrimLeft(elem, "/")
	u.RawPath = ""
	u.Fragment = ""
	return u.String(), nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

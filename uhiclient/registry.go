package uhiclient

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Registry finds public keys through a UHI network registry's lookup API
// (docs/protocol.md §5: POST {registry}/lookup with subscriber_id, pub_key_id, type,
// domain, country, city). Answers are cached for a TTL, unknown keys for a
// shorter one, and concurrent lookups of one keyId share one request.
type Registry struct {
	lookupURL string
	client    *http.Client
	ttl       time.Duration
	negTTL    time.Duration
	maxCache  int
	now       func() time.Time
	logger    *slog.Logger
	scope     LookupScope

	mu    sync.Mutex
	cache map[string]registryEntry
	group singleflight.Group
}

// LookupScope is the network part of a lookup request.
type LookupScope struct {
	// Type is the subscriber type asked for ("EUA", "HSPA"...); empty to omit.
	Type string
	// Domain is the network domain (default DefaultDomain).
	Domain string
	// Country is the country code (default DefaultCountry).
	Country string
	// City is the city code (default DefaultCity).
	City string
}

type registryEntry struct {
	keys    []ed25519.PublicKey
	err     error
	expires time.Time
}

// RegistryOption configures a Registry.
type RegistryOption func(*Registry) error

// WithRegistryHTTPClient sets the HTTP client (default: own client, 5 s timeout).
func WithRegistryHTTPClient(c *http.Client) RegistryOption {
	return func(r *Registry) error {
		if c == nil {
			return fmt.Errorf("%w: nil http client", ErrBadOption)
		}
		r.client = c
		return nil
	}
}

// WithRegistryTTL sets how long found keys (ttl) and unknown keys (negative)
// are cached; defaults 10 min and 30 s.
func WithRegistryTTL(ttl, negative time.Duration) RegistryOption {
	return func(r *Registry) error {
		if ttl <= 0 || negative < 0 {
			return fmt.Errorf("%w: registry ttl %s/%s", ErrBadOption, ttl, negative)
		}
		r.ttl, r.negTTL = ttl, negative
		return nil
	}
}

// WithRegistryClock sets the clock for cache expiry (default time.Now).
func WithRegistryClock(now func() time.Time) RegistryOption {
	return func(r *Registry) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		r.now = now
		return nil
	}
}

// WithRegistryLogger sets the logger (default: discard).
func WithRegistryLogger(l *slog.Logger) RegistryOption {
	return func(r *Registry) error {
		if l == nil {
			return fmt.Errorf("%w: nil logger", ErrBadOption)
		}
		r.logger = l
		return nil
	}
}

// WithLookupScope sets type, domain, country and city of lookup requests;
// empty domain, country and city keep their defaults.
func WithLookupScope(s LookupScope) RegistryOption {
	return func(r *Registry) error {
		if s.Domain == "" {
			s.Domain = DefaultDomain
		}
		if s.Country == "" {
			s.Country = DefaultCountry
		}
		if s.City == "" {
			s.City = DefaultCity
		}
		r.scope = s
		return nil
	}
}

// NewRegistry returns a Registry whose lookup URL is baseURL + "/lookup".
func NewRegistry(baseURL string, opts ...RegistryOption) (*Registry, error) {
	u, err := JoinURI(baseURL, "lookup")
	if err != nil {
		return nil, err
	}
	r := &Registry{
		lookupURL: u,
		client:    &http.Client{Timeout: 5 * time.Second},
		ttl:       10 * time.Minute,
		negTTL:    30 * time.Second,
		maxCache:  4096,
		now:       time.Now,
		logger:    slog.New(slog.DiscardHandler),
		scope:     LookupScope{Domain: DefaultDomain, Country: DefaultCountry, City: DefaultCity},
		cache:     make(map[string]registryEntry),
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// String names the registry: "registry <lookup URL>".
func (r *Registry) String() string { return "registry " + r.lookupURL }

// PublicKeys implements KeySource.
func (r *Registry) PublicKeys(ctx context.Context, keyID string) ([]ed25519.PublicKey, error) {
	sub, ukid, err := ParseKeyID(keyID)
	if err != nil {
		return nil, err
	}
	norm := sub + "|" + ukid
	now := r.now()
	r.mu.Lock()
	e, ok := r.cache[norm]
	r.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.keys, e.err
	}
	ch := r.group.DoChan(norm, func() (any, error) {
		// The shared lookup outlives any one caller's cancellation; the
		// client's timeout bounds it.
		keys, err := r.lookup(context.WithoutCancel(ctx), sub, ukid)
		r.store(norm, keys, err)
		return keys, err
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.([]ed25519.PublicKey), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %v", ErrLookup, ctx.Err())
	}
}

func (r *Registry) store(norm string, keys []ed25519.PublicKey, err error) {
	var ttl time.Duration
	switch {
	case err == nil:
		ttl = r.ttl
	case errors.Is(err, ErrUnknownKey):
		ttl = r.negTTL
	default:
		return // a failed lookup is retried next time
	}
	if ttl <= 0 {
		return
	}
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.cache) >= r.maxCache {
		for k, e := range r.cache {
			if !now.Before(e.expires) {
				delete(r.cache, k)
			}
		}
		if len(r.cache) >= r.maxCache {
			clear(r.cache)
		}
	}
	r.cache[norm] = registryEntry{keys: keys, err: err, expires: now.Add(ttl)}
}

type lookupRequest struct {
	SubscriberID string `json:"subscriber_id"`
	PubKeyID     string `json:"pub_key_id"`
	Type         string `json:"type,omitempty"`
	Domain       string `json:"domain,omitempty"`
	Country      string `json:"country,omitempty"`
	City         string `json:"city,omitempty"`
}

// lookupRecord is one subscriber record; field names vary across registries.
type lookupRecord struct {
	SubscriberID     string `json:"subscriber_id"`
	UkID             string `json:"ukId"`
	UniqueKeyID      string `json:"unique_key_id"`
	PubKeyID         string `json:"pub_key_id"`
	SigningPublicKey string `json:"signing_public_key"`
	EncrPublicKey    string `json:"encr_public_key"`
}

const maxRegistryReply = 1 << 20

func (r *Registry) lookup(ctx context.Context, sub, ukid string) ([]ed25519.PublicKey, error) {
	body, err := json.Marshal(lookupRequest{SubscriberID: sub, PubKeyID: ukid, Type: r.scope.Type,
		Domain: r.scope.Domain, Country: r.scope.Country, City: r.scope.City})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLookup, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.lookupURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLookup, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrLookup, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxRegistryReply))
	if err != nil {
		return nil, fmt.Errorf("%w: read reply: %v", ErrLookup, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s|%s not in %s", ErrUnknownKey, sub, ukid, r.lookupURL)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: %s answered HTTP %d", ErrLookup, r.lookupURL, resp.StatusCode)
	}
	var records []lookupRecord
	trimmed := bytes.TrimSpace(reply)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var one lookupRecord
		err = json.Unmarshal(trimmed, &one)
		records = []lookupRecord{one}
	} else {
		err = json.Unmarshal(trimmed, &records)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: bad reply from %s: %v", ErrLookup, r.lookupURL, err)
	}
	var keys []ed25519.PublicKey
	for _, rec := range records {
		if rec.SubscriberID != "" && rec.SubscriberID != sub {
			continue
		}
		if id := firstNonEmpty(rec.UkID, rec.UniqueKeyID, rec.PubKeyID); id != "" && id != ukid {
			continue
		}
		// The reference verifies with encr_public_key (docs/protocol.md §5); a correct
		// registry puts the key in signing_public_key. Try both.
		for _, b64 := range []string{rec.SigningPublicKey, rec.EncrPublicKey} {
			if strings.TrimSpace(b64) == "" {
				continue
			}
			if pub, err := ParsePublicKey(b64); err == nil {
				keys = append(keys, pub)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: %s has no ed25519 key for %s|%s", ErrUnknownKey, r.lookupURL, sub, ukid)
	}
	r.logger.Debug("registry lookup", "subscriber", sub, "key", ukid, "keys", len(keys))
	return keys, nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

package euatest

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Flavour is which patient app the EUA plays.
type Flavour int

const (
	// Physical is the 2026 network's in-clinic booking: fulfillment type
	// "Physical", tags spelled "@abdm/gov.in/...", customer.id the ABHA
	// address with the ABHA number in its tags, five terms agreed in
	// confirm, a PIN in on_confirm.
	Physical Flavour = iota
	// Teleconsultation is the reference patient app's (2022) booking:
	// fulfillment type "Teleconsultation", the doctor's tags spelled
	// "@abdm/gov/in/...", customer {"id": "", "cred": <ABHA address>}, and
	// the patient's chat key in confirm's "@abdm/gov.in/patient_key".
	Teleconsultation
)

// Type is the fulfillment.type the flavour sends.
func (f Flavour) Type() string {
	if f == Teleconsultation {
		return "Teleconsultation"
	}
	return "Physical"
}

// String names the flavour.
func (f Flavour) String() string { return f.Type() }

// Patient is who the EUA books for.
type Patient struct {
	// ABHAAddress is the patient's address ("ravi@sbx").
	ABHAAddress string
	// ABHANumber is the 14-digit ABHA number (sent by Physical).
	ABHANumber string
	// Name, Gender ("M", "F", "O"), DOB ("1990-01-31"), Phone and Email fill
	// billing and customer.
	Name, Gender, DOB, Phone, Email string
}

// Config sets up an EUA; zero fields take the defaults given.
type Config struct {
	// SubscriberID is the consumer_id (default "eua-nha").
	SubscriberID string
	// UniqueKeyID is the id of its signing key (default "eua-k1").
	UniqueKeyID string
	// Flavour picks the patient app's shapes (default Physical).
	Flavour Flavour
	// Patient is the patient (default a test patient, "ravi@sbx").
	Patient Patient
	// Gateway, when set, is where SearchDoctors posts; the EUA registers its
	// key with it, verifies the gateway's X-Gateway-Authorization on a
	// forwarded on_search, and also trusts every key the gateway's registry
	// holds for callbacks.
	Gateway *Gateway
	// HSPAKeys are the public keys a callback's Authorization must verify
	// under (besides the gateway's registry).
	HSPAKeys []ed25519.PublicKey
	// Timeout bounds each Wait (default 10 s).
	Timeout time.Duration
}

// Callbacks the EUA serves under its consumer_uri.
func callbackActions() []string {
	return []string{"on_search", "on_init", "on_confirm", "on_status", "on_update", "on_cancel", "on_message"}
}

// EUA is an independent patient app on loopback: it serves the callbacks
// under its consumer_uri, acknowledging each at once after verifying its
// signature, records them, and drives a booking with signed requests.
type EUA struct {
	cfg    Config
	key    Key
	srv    *httptest.Server
	client *http.Client
	now    func() time.Time
	in     *recorder

	mu      sync.Mutex
	trusted []ed25519.PublicKey
}

// NewEUA starts an EUA on loopback; the test's cleanup stops it.
func NewEUA(t testing.TB, cfg Config) *EUA {
	t.Helper()
	if cfg.SubscriberID == "" {
		cfg.SubscriberID = "eua-nha"
	}
	if cfg.UniqueKeyID == "" {
		cfg.UniqueKeyID = "eua-k1"
	}
	if cfg.Patient.ABHAAddress == "" {
		cfg.Patient = Patient{ABHAAddress: "ravi@sbx", ABHANumber: "91-1234-5678-9012", Name: "Ravi Kumar",
			Gender: "M", DOB: "1990-01-31", Phone: "9800000001", Email: "ravi@example.in"}
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	key, err := NewKey(cfg.SubscriberID, cfg.UniqueKeyID)
	if err != nil {
		t.Fatal(err)
	}
	e := &EUA{cfg: cfg, key: key, client: &http.Client{Timeout: 5 * time.Second}, now: time.Now,
		in: newRecorder(), trusted: append([]ed25519.PublicKey(nil), cfg.HSPAKeys...)}
	mux := http.NewServeMux()
	for _, a := range callbackActions() {
		mux.HandleFunc("POST "+consumerPath+"/"+a, e.callback)
	}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	if cfg.Gateway != nil {
		cfg.Gateway.RegisterKey(key)
	}
	return e
}

// consumerPath is the path of the EUA's consumer_uri.
const consumerPath = "/api/v1/euaService"

// URI is the EUA's consumer_uri.
func (e *EUA) URI() string { return e.srv.URL + consumerPath }

// Key is the EUA's signing identity; KeyID is "eua-nha|eua-k1|ed25519" by
// default.
func (e *EUA) Key() Key { return e.key }

// Patient is the patient the EUA books for.
func (e *EUA) Patient() Patient { return e.cfg.Patient }

// Flavour is the EUA's flavour.
func (e *EUA) Flavour() Flavour { return e.cfg.Flavour }

// TrustHSPA adds a key that callbacks may be signed with.
func (e *EUA) TrustHSPA(pub ed25519.PublicKey) {
	e.mu.Lock()
	e.trusted = append(e.trusted, pub)
	e.mu.Unlock()
}

// verifyCallback checks a callback's signatures: Authorization under a
// trusted key (or the gateway registry's key for its keyId), and, when
// present, X-Gateway-Authorization under the gateway's key.
func (e *EUA) verifyCallback(h http.Header, body []byte) error {
	now := e.now()
	if gw := h.Get("X-Gateway-Authorization"); gw != "" {
		if e.cfg.Gateway == nil {
			return errors.New("euatest: X-Gateway-Authorization but no gateway configured")
		}
		if err := Verify(gw, body, e.cfg.Gateway.Key().Public(), now); err != nil {
			return fmt.Errorf("gateway signature: %w", err)
		}
	}
	auth := h.Get("Authorization")
	if auth == "" {
		return ErrNoHeader
	}
	e.mu.Lock()
	keys := append([]ed25519.PublicKey(nil), e.trusted...)
	e.mu.Unlock()
	if e.cfg.Gateway != nil {
		if pub, err := e.cfg.Gateway.publicKey(HeaderKeyID(auth)); err == nil {
			keys = append(keys, pub)
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: %s", ErrUnknownKey, HeaderKeyID(auth))
	}
	var err error
	for _, k := range keys {
		if err = Verify(auth, body, k, now); err == nil {
			return nil
		}
	}
	return err
}

func (e *EUA) callback(w http.ResponseWriter, r *http.Request) {
	ep := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	body, m, err := readJSON(r)
	if err != nil {
		e.in.add(message(ep, r, body, m, err))
		writeNack(w, http.StatusBadRequest, "UHI-1411", "body is not a JSON object: "+err.Error())
		return
	}
	if err := e.verifyCallback(r.Header, body); err != nil {
		e.in.add(message(ep, r, body, m, err))
		code := "UHI-1405"
		if errors.Is(err, ErrNoHeader) {
			code = "UHI-1401"
		}
		writeNack(w, http.StatusUnauthorized, code, err.Error())
		return
	}
	if a := Str(m, "context.action"); a != ep {
		err := fmt.Errorf("euatest: context.action %q posted to /%s", a, ep)
		e.in.add(message(ep, r, body, m, err))
		writeNack(w, http.StatusBadRequest, "UHI-1400", err.Error())
		return
	}
	e.in.add(message(ep, r, body, m, nil))
	writeAck(w)
}

// Callbacks is every callback received, accepted or refused, in order.
func (e *EUA) Callbacks() []Message { return e.in.all() }

// Rejected is every callback the EUA refused (bad signature, bad JSON, wrong
// action).
func (e *EUA) Rejected() []Message {
	var out []Message
	for _, m := range e.in.all() {
		if m.Err != nil {
			out = append(out, m)
		}
	}
	return out
}

// Wait waits for the next accepted callback of action ("on_init"...) on
// transaction txn ("" for any), up to the configured timeout, and returns its
// decoded JSON. Each callback is returned once, so successive Waits for
// on_update return successive updates.
func (e *EUA) Wait(action, txn string) (map[string]any, error) {
	m, err := e.WaitMessage(action, txn)
	return m.JSON, err
}

// WaitMessage is Wait returning the whole Message (headers, bytes).
func (e *EUA) WaitMessage(action, txn string) (Message, error) {
	return e.in.wait(e.cfg.Timeout, action+" on "+txn, func(m Message) bool {
		return m.Endpoint == action && (txn == "" || m.TransactionID == txn)
	})
}

// WaitFor is WaitMessage with its own timeout.
func (e *EUA) WaitFor(action, txn string, timeout time.Duration) (Message, error) {
	return e.in.wait(timeout, action+" on "+txn, func(m Message) bool {
		return m.Endpoint == action && (txn == "" || m.TransactionID == txn)
	})
}

// context builds a request context.
func (e *EUA) context(action, txn, providerID, providerURI string) map[string]any {
	c := map[string]any{
		"domain": "nic2004:85111", "country": "IND", "city": "std:080",
		"action": action, "core_version": "0.7.1",
		"consumer_id": e.cfg.SubscriberID, "consumer_uri": e.URI(),
		"transaction_id": txn, "message_id": newID(),
		"timestamp": contextTime(e.now()),
	}
	if providerID != "" {
		c["provider_id"] = providerID
	}
	if providerURI != "" {
		c["provider_uri"] = providerURI
	}
	return c
}

// marshal encodes a body; maps of JSON values always encode.
func marshal(body map[string]any) []byte {
	b, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	return b
}

// Send signs body with the EUA's key and posts it to url.
func (e *EUA) Send(url string, body map[string]any) (Reply, error) {
	b := marshal(body)
	return post(e.client, url, b, map[string]string{"Authorization": e.key.Sign(b)})
}

// SendUnsigned posts body to url with no Authorization header.
func (e *EUA) SendUnsigned(url string, body map[string]any) (Reply, error) {
	return post(e.client, url, marshal(body), nil)
}

// SendForged posts body to url signed by a fresh key that claims the EUA's
// keyId: the header is well formed, the signature does not verify under the
// EUA's real key.
func (e *EUA) SendForged(url string, body map[string]any) (Reply, error) {
	forger, err := NewKey(e.key.SubscriberID, e.key.UniqueKeyID)
	if err != nil {
		return Reply{}, err
	}
	b := marshal(body)
	return post(e.client, url, b, map[string]string{"Authorization": forger.Sign(b)})
}

// SendTampered signs body, then posts it with a space added at the end: still
// the same JSON, but not the bytes signed.
func (e *EUA) SendTampered(url string, body map[string]any) (Reply, error) {
	b := marshal(body)
	h := e.key.Sign(b)
	return post(e.client, url, append(b, ' '), map[string]string{"Authorization": h})
}

// SendExpired posts body signed with a window that ended an hour ago.
func (e *EUA) SendExpired(url string, body map[string]any) (Reply, error) {
	b := marshal(body)
	created := e.now().Add(-time.Hour).Unix()
	return post(e.client, url, b, map[string]string{"Authorization": e.key.SignWindow(b, created, created+10)})
}

// SendRaw posts bytes with the given headers (e.g. "Authorization").
func (e *EUA) SendRaw(url string, body []byte, headers map[string]string) (Reply, error) {
	return post(e.client, url, body, headers)
}

// send signs and posts, turning a NACK into an error.
func (e *EUA) send(url string, body map[string]any) error {
	r, err := e.Send(url, body)
	if err != nil {
		return err
	}
	return r.Err()
}

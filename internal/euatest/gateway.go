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

// Gateway paths (the 2026 network's; the reference gateway's, without "uhi/",
// are served too).
const (
	// GatewaySearchPath is where an EUA posts its broadcast search.
	GatewaySearchPath = "/api/v1/uhi/search"
	// GatewayOnSearchPath is where an HSPA posts its catalog.
	GatewayOnSearchPath = "/api/v1/uhi/on_search"
	// RegistryPath is the base of the registry; its lookup is RegistryPath + "/lookup".
	RegistryPath = "/api/v1/networkregistry"
)

// AuditActions are the callbacks an HSPA copies to the gateway; the audit
// endpoint of each is AuditURL(action).
func AuditActions() []string { return []string{"on_confirm", "on_status", "on_update", "on_cancel"} }

// ErrUnknownKey means no key is registered for a signature's keyId.
var ErrUnknownKey = errors.New("euatest: unknown keyId")

// Gateway is a fake UHI gateway and network registry on loopback. It
// verifies every signed request against the keys registered with it, forwards
// an EUA's search to every HSPA added with AddHSPA (signing with its own key
// in X-Gateway-Authorization and keeping the EUA's Authorization), forwards
// each HSPA's on_search to the EUA that searched, records the audit copies,
// and answers registry lookups. It answers every request at once and forwards
// afterwards.
type Gateway struct {
	srv    *httptest.Server
	key    Key
	client *http.Client
	now    func() time.Time
	wg     sync.WaitGroup

	in *recorder

	mu        sync.Mutex
	keys      map[string]ed25519.PublicKey // "subscriber|ukid"
	hspas     []string                     // provider_uri
	consumers map[string]string            // transaction_id -> consumer_uri
	forwards  []Forward
	fwdCh     chan struct{}
}

// NewGateway starts a gateway on loopback; the test's cleanup stops it and
// waits for its forwards.
func NewGateway(t testing.TB) *Gateway {
	t.Helper()
	key, err := NewKey("gateway-nha", "uhi_gateway_pubkeyid")
	if err != nil {
		t.Fatal(err)
	}
	g := &Gateway{
		key:       key,
		client:    &http.Client{Timeout: 5 * time.Second},
		now:       time.Now,
		in:        newRecorder(),
		keys:      map[string]ed25519.PublicKey{},
		consumers: map[string]string{},
		fwdCh:     make(chan struct{}),
	}
	g.Register(key.SubscriberID, key.UniqueKeyID, key.Public())
	mux := http.NewServeMux()
	for _, prefix := range []string{"/api/v1/uhi/", "/api/v1/"} {
		mux.HandleFunc("POST "+prefix+"search", g.search)
		mux.HandleFunc("POST "+prefix+"on_search", g.onSearch)
		for _, a := range AuditActions() {
			mux.HandleFunc("POST "+prefix+a+"_audit", g.audit)
		}
	}
	mux.HandleFunc("POST "+RegistryPath+"/lookup", g.lookup)
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.Close)
	return g
}

// Close stops the server and waits for forwards in flight.
func (g *Gateway) Close() {
	g.srv.Close()
	g.wg.Wait()
}

// URL is the gateway's base URL ("http://127.0.0.1:port").
func (g *Gateway) URL() string { return g.srv.URL }

// SearchURL is where an EUA posts search.
func (g *Gateway) SearchURL() string { return g.srv.URL + GatewaySearchPath }

// OnSearchURL is where an HSPA posts on_search.
func (g *Gateway) OnSearchURL() string { return g.srv.URL + GatewayOnSearchPath }

// AuditURL is where an HSPA posts the copy of action ("on_confirm"...).
func (g *Gateway) AuditURL(action string) string {
	return g.srv.URL + "/api/v1/uhi/" + action + "_audit"
}

// RegistryURL is the registry base that a console's registry client posts
// "/lookup" under.
func (g *Gateway) RegistryURL() string { return g.srv.URL + RegistryPath }

// Key is the gateway's signing identity (subscriber "gateway-nha").
func (g *Gateway) Key() Key { return g.key }

// Register puts a participant's public key in the registry.
func (g *Gateway) Register(subscriber, ukid string, pub ed25519.PublicKey) {
	g.mu.Lock()
	g.keys[subscriber+"|"+ukid] = pub
	g.mu.Unlock()
}

// RegisterKey registers k's public half.
func (g *Gateway) RegisterKey(k Key) { g.Register(k.SubscriberID, k.UniqueKeyID, k.Public()) }

// AddHSPA adds an HSPA whose provider_uri gets every search.
func (g *Gateway) AddHSPA(providerURI string) {
	g.mu.Lock()
	g.hspas = append(g.hspas, strings.TrimRight(providerURI, "/"))
	g.mu.Unlock()
}

// publicKey finds the key of a header's keyId.
func (g *Gateway) publicKey(keyID string) (ed25519.PublicKey, error) {
	parts := strings.Split(keyID, "|")
	if len(parts) < 3 {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, keyID)
	}
	sub := strings.Join(parts[:len(parts)-2], "|")
	g.mu.Lock()
	pub := g.keys[sub+"|"+parts[len(parts)-2]]
	g.mu.Unlock()
	if pub == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownKey, keyID)
	}
	return pub, nil
}

// verify checks the Authorization header of a request against the registry.
func (g *Gateway) verify(h http.Header, body []byte) error {
	v := h.Get("Authorization")
	if v == "" {
		return ErrNoHeader
	}
	pub, err := g.publicKey(HeaderKeyID(v))
	if err != nil {
		return err
	}
	return Verify(v, body, pub, g.now())
}

// receive reads, verifies and records a request; it answers the NACK itself
// and returns ok=false when the request is refused.
func (g *Gateway) receive(w http.ResponseWriter, r *http.Request, endpoint string) (Message, bool) {
	body, m, err := readJSON(r)
	if err != nil {
		g.in.add(message(endpoint, r, body, m, err))
		writeNack(w, http.StatusBadRequest, "UHI-1411", "body is not a JSON object: "+err.Error())
		return Message{}, false
	}
	if err := g.verify(r.Header, body); err != nil {
		g.in.add(message(endpoint, r, body, m, err))
		code := "UHI-1405"
		if errors.Is(err, ErrNoHeader) {
			code = "UHI-1401"
		}
		writeNack(w, http.StatusUnauthorized, code, err.Error())
		return Message{}, false
	}
	msg := message(endpoint, r, body, m, nil)
	g.in.add(msg)
	writeAck(w)
	return msg, true
}

func (g *Gateway) search(w http.ResponseWriter, r *http.Request) {
	msg, ok := g.receive(w, r, "search")
	if !ok {
		return
	}
	g.mu.Lock()
	if c := Str(msg.JSON, "context.consumer_uri"); c != "" {
		g.consumers[msg.TransactionID] = c
	}
	targets := append([]string(nil), g.hspas...)
	g.mu.Unlock()
	for _, uri := range targets {
		g.forward("search", msg, uri+"/search")
	}
}

func (g *Gateway) onSearch(w http.ResponseWriter, r *http.Request) {
	msg, ok := g.receive(w, r, "on_search")
	if !ok {
		return
	}
	g.mu.Lock()
	target := g.consumers[msg.TransactionID]
	g.mu.Unlock()
	if target == "" {
		target = Str(msg.JSON, "context.consumer_uri")
	}
	g.forward("on_search", msg, strings.TrimRight(target, "/")+"/on_search")
}

// forward posts the received bytes to url in the background, with the
// sender's Authorization and the gateway's own signature.
func (g *Gateway) forward(action string, msg Message, url string) {
	h := http.Header{}
	h.Set("Authorization", msg.Header.Get("Authorization"))
	h.Set("X-Gateway-Authorization", g.key.Sign(msg.Body))
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		reply, err := post(g.client, url, msg.Body, map[string]string{
			"Authorization": h.Get("Authorization"), "X-Gateway-Authorization": h.Get("X-Gateway-Authorization"),
		})
		g.mu.Lock()
		g.forwards = append(g.forwards, Forward{Action: action, TransactionID: msg.TransactionID,
			URL: url, Header: h, Body: msg.Body, Reply: reply, Err: err})
		close(g.fwdCh)
		g.fwdCh = make(chan struct{})
		g.mu.Unlock()
	}()
}

func (g *Gateway) audit(w http.ResponseWriter, r *http.Request) {
	ep := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	g.receive(w, r, ep)
}

// lookupRecord is a registry record, with the key id and the key under every
// name that registries use.
type lookupRecord struct {
	SubscriberID     string `json:"subscriber_id"`
	UkID             string `json:"ukId"`
	UniqueKeyID      string `json:"unique_key_id"`
	PubKeyID         string `json:"pub_key_id"`
	SigningPublicKey string `json:"signing_public_key"`
	EncrPublicKey    string `json:"encr_public_key"`
	Status           string `json:"status"`
}

// lookup answers POST /api/v1/networkregistry/lookup: a JSON array with the
// record of {subscriber_id, pub_key_id}, or 404 when unknown.
func (g *Gateway) lookup(w http.ResponseWriter, r *http.Request) {
	body, m, err := readJSON(r)
	g.in.add(message("lookup", r, body, m, err))
	if err != nil {
		writeNack(w, http.StatusBadRequest, "UHI-1411", "body is not a JSON object")
		return
	}
	sub, ukid := Str(m, "subscriber_id"), Str(m, "pub_key_id")
	g.mu.Lock()
	pub := g.keys[sub+"|"+ukid]
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if pub == nil {
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"404","message":"No record found!"}}`))
		return
	}
	b64 := EncodePublic(pub)
	out, _ := json.Marshal([]lookupRecord{{SubscriberID: sub, UkID: ukid, UniqueKeyID: ukid, PubKeyID: ukid,
		SigningPublicKey: b64, EncrPublicKey: b64, Status: "SUBSCRIBED"}})
	_, _ = w.Write(out)
}

// Received is every request the gateway got, accepted or refused, in order;
// endpoint "" for all, else one endpoint ("search", "on_search",
// "on_confirm_audit", "lookup"...).
func (g *Gateway) Received(endpoint string) []Message {
	var out []Message
	for _, m := range g.in.all() {
		if endpoint == "" || m.Endpoint == endpoint {
			out = append(out, m)
		}
	}
	return out
}

// Rejected is every request the gateway refused.
func (g *Gateway) Rejected() []Message {
	var out []Message
	for _, m := range g.in.all() {
		if m.Err != nil {
			out = append(out, m)
		}
	}
	return out
}

// Audits is every accepted audit copy of action ("on_confirm"...).
func (g *Gateway) Audits(action string) []Message {
	var out []Message
	for _, m := range g.Received(action + "_audit") {
		if m.Err == nil {
			out = append(out, m)
		}
	}
	return out
}

// WaitAudit waits up to timeout for the next accepted audit copy of action
// on transaction txn ("" for any) and returns it; each copy is returned once.
func (g *Gateway) WaitAudit(action, txn string, timeout time.Duration) (Message, error) {
	return g.in.wait(timeout, action+"_audit on "+txn, func(m Message) bool {
		return m.Endpoint == action+"_audit" && (txn == "" || m.TransactionID == txn)
	})
}

// Forwarded is every forward the gateway has finished, in completion order.
func (g *Gateway) Forwarded() []Forward {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]Forward(nil), g.forwards...)
}

// WaitForwarded waits up to timeout until n forwards of action are finished
// and returns them.
func (g *Gateway) WaitForwarded(action string, n int, timeout time.Duration) ([]Forward, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		g.mu.Lock()
		var got []Forward
		for _, f := range g.forwards {
			if f.Action == action {
				got = append(got, f)
			}
		}
		ch := g.fwdCh
		g.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return got, fmt.Errorf("euatest: %d of %d %s forwards within %s", len(got), n, action, timeout)
		}
	}
}

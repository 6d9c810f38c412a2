package euatest

import (
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// stubHSPA is a tiny HSPA, only to prove the EUA and the gateway work: it
// verifies what it gets, answers with an ACK, and posts fixed callbacks,
// signed, with audit copies to the gateway.
type stubHSPA struct {
	t      testing.TB
	key    Key
	gw     *Gateway
	srv    *httptest.Server
	client *http.Client
	in     *recorder
	wg     sync.WaitGroup
	silent bool // acknowledge, never call back

	mu   sync.Mutex
	keys []ed25519.PublicKey // trusted EUA keys
}

const stubPIN = "4821"

func newStubHSPA(t testing.TB, gw *Gateway) *stubHSPA {
	t.Helper()
	key, err := NewKey("hspa-stub", "stub-k1")
	if err != nil {
		t.Fatal(err)
	}
	h := &stubHSPA{t: t, key: key, gw: gw, client: &http.Client{Timeout: 5 * time.Second}, in: newRecorder()}
	mux := http.NewServeMux()
	for _, a := range []string{"search", "init", "confirm", "status", "cancel", "on_update", "on_message"} {
		mux.HandleFunc("POST /api/v1/"+a, h.handle)
	}
	h.srv = httptest.NewServer(mux)
	t.Cleanup(func() { h.srv.Close(); h.wg.Wait() })
	if gw != nil {
		gw.RegisterKey(key)
		gw.AddHSPA(h.uri())
	}
	return h
}

func (h *stubHSPA) uri() string { return h.srv.URL + "/api/v1" }

func (h *stubHSPA) trust(pub ed25519.PublicKey) {
	h.mu.Lock()
	h.keys = append(h.keys, pub)
	h.mu.Unlock()
}

func (h *stubHSPA) verify(r *http.Request, body []byte) error {
	now := time.Now()
	if g := r.Header.Get("X-Gateway-Authorization"); g != "" {
		if err := Verify(g, body, h.gw.Key().Public(), now); err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
	}
	h.mu.Lock()
	keys := append([]ed25519.PublicKey(nil), h.keys...)
	h.mu.Unlock()
	err := error(ErrUnknownKey)
	for _, k := range keys {
		if err = Verify(r.Header.Get("Authorization"), body, k, now); err == nil {
			return nil
		}
	}
	return err
}

func (h *stubHSPA) handle(w http.ResponseWriter, r *http.Request) {
	ep := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	body, m, err := readJSON(r)
	if err == nil {
		err = h.verify(r, body)
	}
	msg := message(ep, r, body, m, err)
	h.in.add(msg)
	if err != nil {
		writeNack(w, http.StatusUnauthorized, "UHI-1405", err.Error())
		return
	}
	writeAck(w)
	if h.silent || ep == "on_update" {
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.answer(ep, msg)
	}()
}

// received returns the accepted requests to endpoint.
func (h *stubHSPA) received(endpoint string) []Message {
	var out []Message
	for _, m := range h.in.all() {
		if m.Endpoint == endpoint && m.Err == nil {
			out = append(out, m)
		}
	}
	return out
}

func (h *stubHSPA) callback(req Message, message map[string]any) []byte {
	ctx, _ := clone(req.JSON["context"]).(map[string]any)
	ctx["action"] = "on_" + strings.TrimPrefix(req.Endpoint, "on_")
	ctx["provider_id"] = h.key.SubscriberID
	ctx["provider_uri"] = h.uri()
	ctx["message_id"] = newID()
	return marshal(map[string]any{"context": ctx, "message": message})
}

func (h *stubHSPA) post(url string, body []byte) {
	r, err := post(h.client, url, body, map[string]string{"Authorization": h.key.Sign(body)})
	if err != nil || !r.OK() {
		h.t.Errorf("stub HSPA: POST %s: %v %+v", url, err, r)
	}
}

func slotAt(day time.Time, hour int) (string, string) {
	y, m, d := day.In(IST()).Date()
	s := time.Date(y, m, d, hour, 0, 0, 0, IST())
	return Local(s), Local(s.Add(15 * time.Minute))
}

func (h *stubHSPA) answer(ep string, req Message) {
	typ := Str(req.JSON, "message.intent.fulfillment.type")
	agent := map[string]any{"id": "asha@hpr.ndhm", "name": "Dr Asha Rao", "gender": "F",
		"tags": map[string]any{"@abdm/gov.in/experience": "12", "@abdm/gov.in/hpr_id": "71-1111-2222-3333"}}
	consumer := Str(req.JSON, "context.consumer_uri")
	switch ep {
	case "search":
		if req.Header.Get("X-Gateway-Authorization") != "" {
			cat := map[string]any{"catalog": map[string]any{"descriptor": map[string]any{"name": "Stub clinic"},
				"providers": []any{map[string]any{"id": "1", "descriptor": map[string]any{"name": "Stub clinic"},
					"fulfillments": []any{map[string]any{"id": "doc-1", "type": typ, "agent": agent}}}}}}
			h.post(h.gw.OnSearchURL(), h.callback(req, cat))
			return
		}
		day, err := time.ParseInLocation(LocalLayout, Str(req.JSON, "message.intent.fulfillment.start.time.timestamp"), IST())
		if err != nil {
			h.t.Errorf("stub HSPA: slot search start: %v", err)
			return
		}
		var fs, items []any
		for i, hour := range []int{10, 11} {
			id := fmt.Sprintf("slot-%d", i)
			s, e := slotAt(day, hour)
			fs = append(fs, map[string]any{"id": id, "type": typ, "agent": agent,
				"start": timeAt(s), "end": timeAt(e), "tags": map[string]any{"@abdm/gov.in/slot_id": id}})
			items = append(items, map[string]any{"id": "0", "descriptor": consultation(), "fulfillment_id": id,
				"price": map[string]any{"currency": "INR", "value": "500.0"}})
		}
		cat := map[string]any{"catalog": map[string]any{"providers": []any{map[string]any{"id": "1",
			"fulfillments": fs, "items": items}}}}
		h.post(consumer+"/on_search", h.callback(req, cat))
	case "init":
		order, _ := clone(Get(req.JSON, "message.order")).(map[string]any)
		order["id"] = "1234-567890-1234"
		order["payment"] = map[string]any{"type": "ON-ORDER", "status": "NOT_PAID"}
		var terms []any
		for _, t := range []string{"Commercial", "Settlement", "Cancellation", "Refund", "Payment"} {
			terms = append(terms, map[string]any{"type": t, "descriptor": map[string]any{"name": t + " terms"},
				"reasonRequired": false, "reason": "", "termsState": "INITIATED"})
		}
		order["terms"] = terms
		h.post(consumer+"/on_init", h.callback(req, map[string]any{"order": order}))
	case "confirm":
		order, _ := clone(Get(req.JSON, "message.order")).(map[string]any)
		order["state"] = "CONFIRMED"
		terms, _ := order["terms"].([]any)
		for _, t := range terms {
			if Str(t, "termsState") != "AGREED" {
				order["state"] = "FAILED"
			}
		}
		order["authorization"] = map[string]any{"type": "PIN", "token": stubPIN, "status": "GENERATED"}
		if Tag(order, "fulfillment.tags", "patient_key") != "" {
			Get(order, "fulfillment.tags").(map[string]any)["@abdm/gov.in/doctors_key"] = "stub-doctor-key"
		}
		h.postWithAudit(consumer, req, map[string]any{"order": order})
	case "status":
		h.postWithAudit(consumer, req, map[string]any{"order": map[string]any{
			"id": Str(req.JSON, "message.order.id"), "state": "CONFIRMED"}})
	case "on_message":
		if typ, _, _, ok := SignalOf(req.JSON); !ok || typ != "READY" {
			return
		}
		msg, _ := clone(req.JSON["message"]).(map[string]any)
		chat := msg["intent"].(map[string]any)["chat"].(map[string]any)
		chat["sender"], chat["receiver"] = chat["receiver"], chat["sender"]
		Set(chat, "content.content_value", `{"type":"ACK","data":true,"sender":"asha@hpr.ndhm"}`)
		h.post(consumer+"/on_message", h.callback(req, msg))
	case "cancel":
		order, _ := clone(Get(req.JSON, "message.order")).(map[string]any)
		order["state"] = "CANCELLED"
		h.postWithAudit(consumer, req, map[string]any{"order": order})
	}
}

// postWithAudit posts the callback to the EUA and the same bytes to the
// gateway's audit endpoint.
func (h *stubHSPA) postWithAudit(consumer string, req Message, msg map[string]any) {
	b := h.callback(req, msg)
	h.post(consumer+"/on_"+req.Endpoint, b)
	h.post(h.gw.AuditURL("on_"+req.Endpoint), b)
}

package euatest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// setup is a gateway, a stub HSPA behind it, and an EUA of flavour f that
// trusts the stub.
func setup(t *testing.T, f Flavour) (*Gateway, *stubHSPA, *EUA) {
	t.Helper()
	gw := NewGateway(t)
	h := newStubHSPA(t, gw)
	e := NewEUA(t, Config{Flavour: f, Gateway: gw})
	h.trust(e.Key().Public())
	e.TrustHSPA(h.key.Public())
	return gw, h, e
}

// must stops the test on err and returns v.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// wait is e.Wait that stops the test when nothing comes.
func wait(t *testing.T, e *EUA, action, txn string) map[string]any {
	t.Helper()
	return must[map[string]any](t)(e.Wait(action, txn))
}

// book runs search, slots, init, confirm and returns the booking and its
// on_init and on_confirm.
func book(t *testing.T, e *EUA, patientKey string) (*Booking, map[string]any, map[string]any) {
	t.Helper()
	txn := must[string](t)(e.SearchDoctors(Filters{Speciality: "CARDIOLOGY", City: "std:080"}))
	docs := Doctors(wait(t, e, "on_search", txn))
	if len(docs) != 1 || docs[0].ID != "asha@hpr.ndhm" || docs[0].ProviderURI == "" {
		t.Fatalf("doctors %+v", docs)
	}
	day := time.Now().Add(24 * time.Hour)
	stxn := must[string](t)(e.SearchSlots(docs[0], day))
	slots := Slots(wait(t, e, "on_search", stxn))
	if len(slots) != 2 || slots[0].ID != "slot-0" || slots[0].Item == nil || slots[0].FacilityID != "1" {
		t.Fatalf("slots %+v", slots)
	}
	b := must[*Booking](t)(e.Init(slots[0]))
	if b.TransactionID != stxn {
		t.Fatalf("booking transaction %s, want the slot search's %s", b.TransactionID, stxn)
	}
	onInit := wait(t, e, "on_init", b.TransactionID)
	if err := e.Confirm(b, onInit, patientKey); err != nil {
		t.Fatal(err)
	}
	if b.OrderID != "1234-567890-1234" {
		t.Fatalf("order id %q", b.OrderID)
	}
	onConfirm := wait(t, e, "on_confirm", b.TransactionID)
	return b, onInit, onConfirm
}

func TestPhysicalBookingThroughGateway(t *testing.T) {
	gw, h, e := setup(t, Physical)
	b, _, onConfirm := book(t, e, "")

	// The broadcast went through the gateway, signed by it, to the HSPA.
	if s := gw.Received("search"); len(s) != 1 || s[0].Err != nil {
		t.Fatalf("gateway searches %+v", s)
	}
	fw, err := gw.WaitForwarded("search", 1, 5*time.Second)
	if err != nil || !fw[0].Reply.OK() || fw[0].URL != h.uri()+"/search" {
		t.Fatalf("search forwards %+v: %v", fw, err)
	}
	searches := h.received("search")
	if len(searches) != 2 {
		t.Fatalf("HSPA got %d searches, want 2", len(searches))
	}
	if searches[0].Header.Get("X-Gateway-Authorization") == "" || searches[0].Header.Get("Authorization") == "" {
		t.Fatalf("broadcast search headers %v", searches[0].Header)
	}
	if searches[1].Header.Get("X-Gateway-Authorization") != "" {
		t.Fatal("the direct slot search carries a gateway signature")
	}
	// The catalog came back through the gateway, with its signature.
	first := e.Callbacks()[0]
	if first.Endpoint != "on_search" || first.Header.Get("X-Gateway-Authorization") == "" {
		t.Fatalf("first callback %s, headers %v", first.Endpoint, first.Header)
	}

	// The confirm agreed every term and named the patient as 2026 wants.
	conf := h.received("confirm")[0].JSON
	terms, _ := Get(conf, "message.order.terms").([]any)
	if len(terms) != 5 {
		t.Fatalf("%d terms in confirm", len(terms))
	}
	for i := range terms {
		if s := Str(conf, "message.order.terms."+itoa(i)+".termsState"); s != "AGREED" {
			t.Errorf("term %d %s", i, s)
		}
	}
	if Str(conf, "message.order.customer.id") != "ravi@sbx" || Tag(conf, "message.order.customer.person.tags", "abha_number") == "" {
		t.Errorf("customer %v", Get(conf, "message.order.customer"))
	}
	if Str(conf, "message.order.fulfillment.type") != "Physical" {
		t.Errorf("type %q", Str(conf, "message.order.fulfillment.type"))
	}
	if pin, st := PIN(onConfirm); pin != stubPIN || st != "GENERATED" || OrderState(onConfirm) != "CONFIRMED" {
		t.Fatalf("on_confirm pin %q %q state %q", pin, st, OrderState(onConfirm))
	}

	// Status, the doctor's no-show, cancel.
	if err := e.Status(b); err != nil {
		t.Fatal(err)
	}
	if st := wait(t, e, "on_status", b.TransactionID); OrderState(st) != "CONFIRMED" {
		t.Fatalf("on_status %v", st)
	}
	if err := e.DoctorNoShow(b); err != nil {
		t.Fatal(err)
	}
	upd := h.received("on_update")
	if len(upd) != 1 || OrderState(upd[0].JSON) != "DOCTOR_NO_SHOW" || Str(upd[0].JSON, "message.order.id") != b.OrderID {
		t.Fatalf("on_update at the HSPA %+v", upd)
	}
	if err := e.Cancel(b, "PATIENT_HEALTH_IMPROVED"); err != nil {
		t.Fatal(err)
	}
	if c := wait(t, e, "on_cancel", b.TransactionID); OrderState(c) != "CANCELLED" {
		t.Fatalf("on_cancel %v", c)
	}
	cancel := h.received("cancel")[0].JSON
	if Tag(cancel, "message.order.fulfillment.tags", "cancelledby") != "patient" ||
		Tag(cancel, "message.order.fulfillment.tags", "cancel_reason") != "PATIENT_HEALTH_IMPROVED" {
		t.Fatalf("cancel tags %v", Get(cancel, "message.order.fulfillment.tags"))
	}

	// Each audit copy is the callback's bytes, verified against the HSPA's key.
	for _, a := range []string{"on_confirm", "on_status", "on_cancel"} {
		audit, err := gw.WaitAudit(a, b.TransactionID, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var cb Message
		for _, m := range e.Callbacks() {
			if m.Endpoint == a {
				cb = m
			}
		}
		if !bytes.Equal(audit.Body, cb.Body) {
			t.Errorf("%s audit differs from the callback:\n%s\n%s", a, audit.Body, cb.Body)
		}
	}
	if r := gw.Rejected(); len(r) != 0 {
		t.Errorf("gateway refused %+v", r)
	}
	if r := e.Rejected(); len(r) != 0 {
		t.Errorf("EUA refused %+v", r)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestTeleconsultationShapes(t *testing.T) {
	_, h, e := setup(t, Teleconsultation)
	b, _, onConfirm := book(t, e, "[7, 163, 12]")

	slots := h.received("search")[1].JSON
	if Str(slots, "message.intent.fulfillment.type") != "Teleconsultation" ||
		Str(slots, "message.intent.fulfillment.agent.cred") != "asha@hpr.ndhm" {
		t.Errorf("slot search intent %v", Get(slots, "message.intent"))
	}
	init := h.received("init")[0].JSON
	if Str(init, "message.order.fulfillment.type") != "Teleconsultation" {
		t.Errorf("init type %q", Str(init, "message.order.fulfillment.type"))
	}
	cust, _ := Get(init, "message.order.customer").(map[string]any)
	if id, ok := cust["id"].(string); !ok || id != "" || cust["cred"] != "ravi@sbx" {
		t.Errorf("customer %v, want an empty id and the address in cred", cust)
	}
	tags, _ := Get(init, "message.order.fulfillment.agent.tags").(map[string]any)
	if tags["@abdm/gov/in/experience"] != "12" || tags["@abdm/gov.in/experience"] != nil {
		t.Errorf("agent tags %v, want the slash spelling", tags)
	}
	if Tag(init, "message.order.fulfillment.tags", "slot_id") != "slot-0" {
		t.Errorf("init slot tag %v", Get(init, "message.order.fulfillment.tags"))
	}
	conf := h.received("confirm")[0].JSON
	if Tag(conf, "message.order.fulfillment.tags", "patient_key") != "[7, 163, 12]" {
		t.Errorf("confirm tags %v", Get(conf, "message.order.fulfillment.tags"))
	}
	if DoctorsKey(onConfirm) != "stub-doctor-key" {
		t.Errorf("on_confirm tags %v", Get(onConfirm, "message.order.fulfillment.tags"))
	}

	// The booked patient READYs on the booking's transaction; the doctor's ACK comes back.
	if err := e.Ready(b); err != nil {
		t.Fatal(err)
	}
	ready := h.received("on_message")[0].JSON
	if typ, data, sender, ok := SignalOf(ready); !ok || typ != "READY" || data != true || sender != "ravi@sbx" ||
		Str(ready, "context.transaction_id") != b.TransactionID ||
		Str(ready, "message.intent.chat.receiver.person.cred") != "asha@hpr.ndhm" {
		t.Errorf("READY %s", h.received("on_message")[0].Body)
	}
	ack := wait(t, e, "on_message", b.TransactionID)
	if typ, _, sender, ok := SignalOf(ack); !ok || typ != "ACK" || sender != "asha@hpr.ndhm" {
		t.Errorf("doctor's answer %v", ack)
	}
}

func TestGatewayRecordsAFailedForward(t *testing.T) {
	gw := NewGateway(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	gw.AddHSPA(dead.URL + "/api/v1")
	e := NewEUA(t, Config{Gateway: gw})
	txn, err := e.SearchDoctors(Filters{DoctorName: "asha"})
	if err != nil {
		t.Fatal(err)
	}
	fw, err := gw.WaitForwarded("search", 1, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fw[0].Err == nil || fw[0].TransactionID != txn || fw[0].Header.Get("X-Gateway-Authorization") == "" {
		t.Fatalf("forward %+v", fw[0])
	}
}

// signedCallback is an on_confirm as an HSPA would post it to the EUA.
func signedCallback(e *EUA, txn string) map[string]any {
	body := e.StatusBody(&Booking{TransactionID: txn, OrderID: "1"})
	Set(body, "context.action", "on_confirm")
	return body
}

func TestEUARefusesBadCallbacks(t *testing.T) {
	gw := NewGateway(t)
	e := NewEUA(t, Config{Gateway: gw, Timeout: 200 * time.Millisecond})
	hspa, err := NewKey("hspa-x", "k1")
	if err != nil {
		t.Fatal(err)
	}
	e.TrustHSPA(hspa.Public())
	// The HSPA posts with its key: a second EUA value stands in for its sender.
	as := &EUA{cfg: e.cfg, key: hspa, client: e.client, now: e.now}
	url := e.URI() + "/on_confirm"

	cases := []struct {
		name   string
		send   func(string, map[string]any) (Reply, error)
		status int
		code   string
	}{
		{"unsigned", as.SendUnsigned, http.StatusUnauthorized, "UHI-1401"},
		{"forged", as.SendForged, http.StatusUnauthorized, "UHI-1405"},
		{"tampered", as.SendTampered, http.StatusUnauthorized, "UHI-1405"},
		{"expired", as.SendExpired, http.StatusUnauthorized, "UHI-1405"},
	}
	for _, c := range cases {
		r, err := c.send(url, signedCallback(e, c.name))
		if err != nil || r.Status != c.status || r.Ack != "NACK" || r.ErrorCode != c.code {
			t.Errorf("%s: %+v %v", c.name, r, err)
		}
		if _, err := e.Wait("on_confirm", c.name); err == nil {
			t.Errorf("%s: a refused callback was handed out", c.name)
		}
	}
	// The action must match the path.
	r, err := as.Send(e.URI()+"/on_init", signedCallback(e, "wrong-path"))
	if err != nil || r.Status != http.StatusBadRequest {
		t.Errorf("on_confirm posted to /on_init: %+v %v", r, err)
	}
	if got := len(e.Rejected()); got != len(cases)+1 {
		t.Errorf("%d refused, want %d", got, len(cases)+1)
	}
	// A good one is taken.
	r, err = as.Send(url, signedCallback(e, "good"))
	if err != nil || !r.OK() {
		t.Fatalf("good callback: %+v %v", r, err)
	}
	if _, err := e.Wait("on_confirm", "good"); err != nil {
		t.Fatal(err)
	}
	// A key the EUA does not trust, signed correctly, is refused.
	stranger, _ := NewKey("hspa-y", "k1")
	bs := &EUA{cfg: e.cfg, key: stranger, client: e.client, now: e.now}
	if r, err := bs.Send(url, signedCallback(e, "stranger")); err != nil || r.Status != http.StatusUnauthorized {
		t.Errorf("untrusted key: %+v %v", r, err)
	}
	// Once registered with the gateway, its key is trusted through the registry.
	gw.RegisterKey(stranger)
	if r, err := bs.Send(url, signedCallback(e, "registered")); err != nil || !r.OK() {
		t.Errorf("registered key: %+v %v", r, err)
	}
	// A gateway header that does not verify is refused even with a good Authorization.
	b := marshal(signedCallback(e, "bad-gw"))
	r, err = e.SendRaw(url, b, map[string]string{"Authorization": hspa.Sign(b), "X-Gateway-Authorization": hspa.Sign(b)})
	if err != nil || r.Status != http.StatusUnauthorized {
		t.Errorf("forged gateway header: %+v %v", r, err)
	}
}

func TestGatewayRefusesBadRequests(t *testing.T) {
	gw, h, e := setup(t, Physical)
	body := e.SearchBody(Filters{})
	for name, send := range map[string]func(string, map[string]any) (Reply, error){
		"unsigned": e.SendUnsigned, "forged": e.SendForged, "tampered": e.SendTampered, "expired": e.SendExpired,
	} {
		if r, err := send(gw.SearchURL(), body); err != nil || r.Status != http.StatusUnauthorized || r.Ack != "NACK" {
			t.Errorf("%s search: %+v %v", name, r, err)
		}
	}
	// An unregistered EUA is refused too.
	stranger, _ := NewKey("eua-stranger", "k1")
	b := marshal(body)
	if r, err := e.SendRaw(gw.SearchURL(), b, map[string]string{"Authorization": stranger.Sign(b)}); err != nil || r.Status != http.StatusUnauthorized {
		t.Errorf("unknown key: %+v %v", r, err)
	}
	// Nothing refused was forwarded: after one good search, exactly one forward.
	txn, err := e.SearchDoctors(Filters{})
	if err != nil {
		t.Fatal(err)
	}
	fw, err := gw.WaitForwarded("search", 1, 5*time.Second)
	if err != nil || len(fw) != 1 || fw[0].TransactionID != txn {
		t.Fatalf("forwards %+v: %v", fw, err)
	}
	if _, err := e.Wait("on_search", txn); err != nil {
		t.Fatal(err)
	}
	if got := len(h.received("search")); got != 1 {
		t.Fatalf("HSPA got %d searches", got)
	}
	// Audit copies: signed by the HSPA's key they count, by another key not.
	audit := marshal(map[string]any{"context": map[string]any{"action": "on_confirm", "transaction_id": "t1"}})
	if r, _ := post(h.client, gw.AuditURL("on_confirm"), audit, map[string]string{"Authorization": stranger.Sign(audit)}); r.Status != http.StatusUnauthorized {
		t.Errorf("audit by an unknown key: %+v", r)
	}
	if r, _ := post(h.client, gw.AuditURL("on_confirm"), audit, map[string]string{"Authorization": h.key.Sign(audit)}); !r.OK() {
		t.Errorf("audit by the HSPA: %+v", r)
	}
	if a := gw.Audits("on_confirm"); len(a) != 1 || a[0].TransactionID != "t1" {
		t.Errorf("audits %+v", a)
	}
	if r, _ := post(h.client, gw.URL()+"/api/v1/on_update_audit", audit, map[string]string{"Authorization": h.key.Sign(audit)}); !r.OK() {
		t.Errorf("audit on the reference path: %+v", r)
	}
	if _, err := gw.WaitAudit("on_update", "t1", time.Second); err != nil {
		t.Error(err)
	}
}

func TestRegistryLookup(t *testing.T) {
	gw := NewGateway(t)
	k, _ := NewKey("hspa-nha", "hspa-k1")
	gw.RegisterKey(k)
	c := &http.Client{Timeout: 5 * time.Second}
	ask := func(sub, ukid string) Reply {
		b, _ := json.Marshal(map[string]string{"subscriber_id": sub, "pub_key_id": ukid, "domain": "nic2004:85111",
			"country": "IND", "city": "std:080"})
		r, err := post(c, gw.RegistryURL()+"/lookup", b, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := ask("hspa-nha", "hspa-k1")
	var recs []map[string]string
	if err := json.Unmarshal(r.Body, &recs); err != nil || r.Status != http.StatusOK || len(recs) != 1 {
		t.Fatalf("lookup: %d %s %v", r.Status, r.Body, err)
	}
	for _, f := range []string{"signing_public_key", "encr_public_key"} {
		pub, err := ParsePublic(recs[0][f])
		if err != nil || !pub.Equal(k.Public()) {
			t.Errorf("%s: %v", f, err)
		}
	}
	if recs[0]["subscriber_id"] != "hspa-nha" || recs[0]["ukId"] != "hspa-k1" || recs[0]["pub_key_id"] != "hspa-k1" {
		t.Errorf("record %v", recs[0])
	}
	if r := ask("hspa-nha", "other"); r.Status != http.StatusNotFound {
		t.Errorf("unknown key id: %d", r.Status)
	}
	// The gateway's own key is there for HSPAs that look it up.
	g := gw.Key()
	if r := ask(g.SubscriberID, g.UniqueKeyID); r.Status != http.StatusOK {
		t.Errorf("gateway key: %d", r.Status)
	}
	if n := len(gw.Received("lookup")); n != 3 {
		t.Errorf("%d lookups recorded", n)
	}
}

func TestWaitIsBounded(t *testing.T) {
	gw := NewGateway(t)
	h := newStubHSPA(t, gw)
	h.silent = true
	e := NewEUA(t, Config{Gateway: gw, Timeout: 300 * time.Millisecond})
	h.trust(e.Key().Public())
	txn, err := e.SearchDoctors(Filters{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.Wait("on_search", txn); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Wait returned a callback that never came")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Wait did not return")
	}
}

func TestNegativeBodies(t *testing.T) {
	_, h, e := setup(t, Physical)
	s := Slot{ID: "slot-0", Start: "2026-12-08T10:00:00", End: "2026-12-08T10:15:00", ProviderURI: h.uri(), TransactionID: "t"}
	b := e.NewBooking(s)
	init := e.InitBody(b)
	SetSlotTimes(init, Zulu(s.Start), MalformedTime)
	if r, err := e.Send(h.uri()+"/init", init); err != nil || !r.OK() {
		t.Fatal(r, err)
	}
	got := h.received("init")[0].JSON
	if Str(got, "message.order.fulfillment.start.time.timestamp") != "2026-12-08T10:00:00Z" ||
		Str(got, "message.order.fulfillment.end.time.timestamp") != MalformedTime {
		t.Errorf("times %v", Get(got, "message.order.fulfillment"))
	}
	onInit := wait(t, e, "on_init", "t")
	conf := e.ConfirmBody(b, onInit, "")
	if !DisagreeTerm(conf, 2, "INITIATED") || DisagreeTerm(conf, 5, "INITIATED") {
		t.Fatal("DisagreeTerm")
	}
	if err := e.send(h.uri()+"/confirm", conf); err != nil {
		t.Fatal(err)
	}
	if st := OrderState(wait(t, e, "on_confirm", "t")); st != "FAILED" {
		t.Errorf("the stub confirmed with a term not agreed: %s", st)
	}
	if Str(h.received("confirm")[0].JSON, "message.order.terms.2.termsState") != "INITIATED" {
		t.Error("term 2 was agreed")
	}
}

func TestSearchDoctorsNeedsGateway(t *testing.T) {
	e := NewEUA(t, Config{})
	if _, err := e.SearchDoctors(Filters{}); err == nil {
		t.Fatal("no error without a gateway")
	}
	if (Reply{}).Err() == nil || (Reply{Status: 200, Ack: "NACK"}).Err() == nil || (Reply{Status: 200, Ack: "ACK"}).Err() != nil {
		t.Fatal("Reply.Err does not tell an ACK from the rest")
	}
}

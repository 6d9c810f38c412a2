package hub

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"teleconsole/booking"
	"teleconsole/internal/euatest"
	"teleconsole/uhiclient"
)

// frontSchedule is a doctor's week with in-clinic slots around the clock,
// so a test finds slots tomorrow whenever it runs.
func frontSchedule(t *testing.T, hpr, name, speciality string) *booking.Plan {
	t.Helper()
	p, err := booking.ParseSchedule([]byte(`{"doctor": {"name": "` + name + `", "hpr": "` + hpr + `", "speciality": "` + speciality + `",
  "facility": {"name": "City Hospital", "city": "Pune", "pincode": "411001"}},
 "services": {"physical": {"slot_minutes": 20, "fee": "500", "hours": {"daily": ["00:00-24:00"]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// lateHandler serves a handler set once the server's URL is known (the
// hub's provider_uri is it).
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := l.h.Load()
	if h == nil {
		http.Error(w, "not yet", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

func (l *lateHandler) set(h http.Handler) { l.h.Store(&h) }

// frontNet is a UHI gateway with its registry and the hospital's key in
// it, as the hub's booking endpoints need them.
type frontNet struct {
	gw       *euatest.Gateway
	signer   *uhiclient.Signer
	verifier uhiclient.Verifier
	gateway  uhiclient.Verifier
}

func newFrontNet(t *testing.T) *frontNet {
	t.Helper()
	gw := euatest.NewGateway(t)
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	gw.Register("hospital", "k1", pub)
	signer, err := uhiclient.NewSigner(priv, "hospital", "k1")
	if err != nil {
		t.Fatal(err)
	}
	registry, err := uhiclient.NewRegistry(gw.RegistryURL())
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := uhiclient.NewSignatureVerifier(registry)
	if err != nil {
		t.Fatal(err)
	}
	gateway, err := uhiclient.NewSignatureVerifier(registry, uhiclient.WithSignatureHeader(uhiclient.GatewayAuthorizationHeader))
	if err != nil {
		t.Fatal(err)
	}
	return &frontNet{gw: gw, signer: signer, verifier: verifier, gateway: gateway}
}

// addBookingHub starts a hub replica on the NATS at url, with the stream
// and buckets on replicas nodes, serving the booking endpoints for the
// doctors of schedules under providerURI.
func (r *rig) addBookingHub(n *frontNet, url string, replicas int, providerURI string, schedules map[string]*booking.Plan) *hubRun {
	r.t.Helper()
	return r.addHubOn(url, n.signer, 10*time.Second, Config{Doctors: testDoctors(), Replicas: replicas, ProviderID: "hospital",
		ProviderURI: providerURI, Verifier: n.verifier, Schedules: schedules, PINKey: n.signer.DeriveKey(booking.PINKeyLabel),
		Gateway: n.gw.URL() + "/api/v1/uhi", GatewayVerifier: n.gateway, Helpline: "+91-20-2555-0101"})
}

func (n *frontNet) eua(t *testing.T, abha string) *euatest.EUA {
	return euatest.NewEUA(t, euatest.Config{SubscriberID: "eua-" + strings.Split(abha, "@")[0], UniqueKeyID: "k1",
		Gateway: n.gw, Timeout: 30 * time.Second, Patient: euatest.Patient{ABHAAddress: abha, Name: "Patient " + abha, Gender: "F"}})
}

// catalog searches through the gateway and returns the doctors listed.
func catalog(t *testing.T, e *euatest.EUA, f euatest.Filters) []euatest.Doctor {
	t.Helper()
	txn, err := e.SearchDoctors(f)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	cat, err := e.Wait("on_search", txn)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	return euatest.Doctors(cat)
}

// tomorrowsSlots searches the doctor's slots of tomorrow.
func tomorrowsSlots(t *testing.T, e *euatest.EUA, d euatest.Doctor) []euatest.Slot {
	t.Helper()
	txn, err := e.SearchSlots(d, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatalf("slot search: %v", err)
	}
	cb, err := e.Wait("on_search", txn)
	if err != nil {
		t.Fatalf("slots: %v", err)
	}
	return euatest.Slots(cb)
}

func TestHubServesBookingsForItsDoctors(t *testing.T) {
	n := newFrontNet(t)
	r := newRig(t)
	front := &lateHandler{}
	lb := httptest.NewServer(front)
	defer lb.Close()
	h := r.addBookingHub(n, r.url, 1, lb.URL+"/api/v1", map[string]*booking.Plan{
		doctorA: frontSchedule(t, doctorA, "Dr Ganesh Borse", "General Medicine"),
		doctorB: frontSchedule(t, doctorB, "Dr Asha Rao", "Cardiology")})
	front.set(h.srv.Config.Handler)
	n.gw.AddHSPA(lb.URL + "/api/v1")
	e := n.eua(t, "ravi@sbx")

	// The gateway's broadcast: one catalog of both doctors; a search for
	// one speciality lists its doctor only.
	ids := map[string]bool{}
	for _, d := range catalog(t, e, euatest.Filters{}) {
		ids[d.ID] = true
	}
	if !ids[doctorA] || !ids[doctorB] || len(ids) != 2 {
		t.Fatalf("the catalog lists %v, want both doctors", ids)
	}
	docs := catalog(t, e, euatest.Filters{Speciality: "Cardiology"})
	if len(docs) != 1 || docs[0].ID != doctorB {
		t.Fatalf("a search for Cardiology lists %+v", docs)
	}

	// Dr Rao's slot, held, confirmed with its PIN, its status read.
	slots := tomorrowsSlots(t, e, docs[0])
	if len(slots) == 0 {
		t.Fatal("no slots offered")
	}
	b, err := e.Init(slots[0])
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	onInit, err := e.Wait("on_init", b.TransactionID)
	if err != nil || euatest.Str(onInit, "message.order.id") == "" {
		t.Fatalf("on_init: %v %v", err, onInit)
	}
	if err := e.Confirm(b, onInit, ""); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	onConfirm, err := e.Wait("on_confirm", b.TransactionID)
	if err != nil || euatest.OrderState(onConfirm) != uhiclient.StateConfirmed {
		t.Fatalf("on_confirm: %v %v", err, onConfirm)
	}
	if pin, _ := euatest.PIN(onConfirm); len(pin) != 4 {
		t.Fatalf("the PIN sent is %q", pin)
	}
	if err := e.Status(b); err != nil {
		t.Fatalf("status: %v", err)
	}
	st, err := e.Wait("on_status", b.TransactionID)
	if err != nil || euatest.OrderState(st) != uhiclient.StateConfirmed {
		t.Fatalf("on_status: %v %v", err, st)
	}
	// The doctor's day, read from the bucket, has it; the other doctor's
	// has nothing; the gateway has the audit copy.
	start, err := uhiclient.ParseLocalTime(slots[0].Start)
	if err != nil {
		t.Fatal(err)
	}
	for doc, want := range map[string]int{doctorB: 1, doctorA: 0} {
		d, ok := h.hub.Desk(doc)
		if !ok {
			t.Fatalf("no desk of %s", doc)
		}
		day, err := d.Day(context.Background(), start)
		if err != nil || len(day) != want {
			t.Fatalf("%s's day: %d appointments (%v), want %d", doc, len(day), err, want)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(n.gw.Audits("on_confirm")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no audit copy of on_confirm at the gateway")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestHubRefusesAScheduleOfADoctorNotInItsFile(t *testing.T) {
	r := newRig(t)
	nc, err := nats.Connect(r.url, nats.UserInfo("hub", hubPass))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	client, _ := uhiclient.NewClient()
	const stranger = "stranger@hpr.abdm"
	_, err = Start(Config{Doctors: testDoctors(), Conn: nc, Client: client, ProviderID: "hospital", ProviderURI: "http://h.test/api/v1",
		Schedules: map[string]*booking.Plan{stranger: frontSchedule(t, stranger, "Dr S", "x")}, PINKey: make([]byte, 32)})
	if !errors.Is(err, ErrBadSchedules) || !strings.Contains(err.Error(), stranger) {
		t.Fatalf("a schedule of a doctor not in the file: %v", err)
	}
}

package hspa

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"teleconsole/booking"
	"teleconsole/internal/euatest"
	"teleconsole/uhiclient"
)

// schedule is a doctor's week with slots of both kinds around the clock.
func schedule(t *testing.T, hpr, name, speciality string) *booking.Plan {
	t.Helper()
	p, err := booking.ParseSchedule([]byte(`{
  "doctor": {"name": "` + name + `", "hpr": "` + hpr + `", "gender": "F", "speciality": "` + speciality + `",
             "facility": {"name": "City Hospital", "city": "Pune", "pincode": "411001"}},
  "services": {
    "teleconsultation": {"slot_minutes": 15, "fee": "300", "hours": {"daily": ["00:00-24:00"]}},
    "physical": {"slot_minutes": 20, "fee": "500", "hours": {"daily": ["00:00-24:00"]}}
  }
}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sent is one callback the service posted.
type sent struct {
	base, action string
	body         map[string]any
}

// outbox records the callbacks instead of posting them.
type outbox struct {
	mu    sync.Mutex
	posts []sent
}

func (o *outbox) PostAction(_ context.Context, base, action string, body []byte) error {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.posts = append(o.posts, sent{base, action, m})
	return nil
}

// last returns the last callback posted, and forgets them all.
func (o *outbox) last(t *testing.T) sent {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.posts) == 0 {
		t.Fatal("no callback posted")
	}
	s := o.posts[len(o.posts)-1]
	o.posts = nil
	return s
}

const (
	drA = "asha@hpr.abdm"
	drB = "bina@hpr.abdm"
)

type serviceRig struct {
	svc   *Service
	out   *outbox
	eua   *euatest.EUA
	store *booking.MemoryStore
}

func newServiceRig(t *testing.T) *serviceRig {
	t.Helper()
	store := booking.NewMemoryStore()
	var desks []*booking.Desk
	for _, p := range []*booking.Plan{schedule(t, drA, "Dr Asha Rao", "General Medicine"), schedule(t, drB, "Dr Bina Shah", "Cardiology")} {
		d, err := booking.NewDesk(p, store)
		if err != nil {
			t.Fatal(err)
		}
		desks = append(desks, d)
	}
	out := &outbox{}
	svc, err := New(Config{Desks: desks, ProviderID: "city-hospital", ProviderURI: "http://hospital.test/api/v1", Out: out})
	if err != nil {
		t.Fatal(err)
	}
	return &serviceRig{svc: svc, out: out, eua: euatest.NewEUA(t, euatest.Config{}), store: store}
}

// handle hands body to the service as the booking server would.
func (r *serviceRig) handle(t *testing.T, action string, body map[string]any, viaGateway bool) sent {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	env, err := uhiclient.DecodeBooking(action, b)
	if err != nil {
		t.Fatal(err)
	}
	r.svc.Handle(context.Background(), &uhiclient.BookingRequest{Action: action, Envelope: env, ViaGateway: viaGateway, ReceivedAt: time.Now()})
	return r.out.last(t)
}

func errorOf(s sent) string {
	return euatest.Str(s.body, "error.code") + " " + euatest.Str(s.body, "error.message")
}

func TestCatalogListsEveryDoctorWhoMatches(t *testing.T) {
	r := newServiceRig(t)
	cb := r.handle(t, uhiclient.ActionSearch, r.eua.SearchBody(euatest.Filters{}), true)
	if cb.action != uhiclient.ActionOnSearch || cb.base != r.eua.URI() {
		t.Fatalf("catalog went as %s to %s", cb.action, cb.base)
	}
	ids := map[string]bool{}
	for _, d := range euatest.Doctors(cb.body) {
		ids[d.ID] = true
	}
	if !ids[drA] || !ids[drB] || len(ids) != 2 {
		t.Fatalf("one on_search lists %v, want both doctors", ids)
	}
	cb = r.handle(t, uhiclient.ActionSearch, r.eua.SearchBody(euatest.Filters{Speciality: "Cardiology"}), true)
	docs := euatest.Doctors(cb.body)
	if len(docs) == 0 {
		t.Fatal("the cardiologist is not listed")
	}
	for _, d := range docs {
		if d.ID != drB {
			t.Fatalf("a search for Cardiology lists %s", d.ID)
		}
	}
}

// book searches doctor's slots, holds the first and confirms it.
func (r *serviceRig) book(t *testing.T, doctor string) (*euatest.Booking, sent) {
	t.Helper()
	cb := r.handle(t, uhiclient.ActionSearch, r.eua.SlotsBody(euatest.Doctor{ID: doctor, ProviderID: "city-hospital",
		ProviderURI: "http://hospital.test/api/v1"}, time.Now().Add(24*time.Hour), ""), false)
	slots := euatest.Slots(cb.body)
	if len(slots) == 0 {
		t.Fatalf("no slots of %s: %v", doctor, cb.body)
	}
	for _, s := range slots {
		if got := euatest.Str(s.Agent, "id"); got != doctor {
			t.Fatalf("a slot search for %s lists a slot of %s", doctor, got)
		}
	}
	b := r.eua.NewBooking(slots[0])
	onInit := r.handle(t, uhiclient.ActionInit, r.eua.InitBody(b), false)
	if onInit.action != uhiclient.ActionOnInit || euatest.Str(onInit.body, "message.order.id") == "" {
		t.Fatalf("init of %s's slot: %s %s", doctor, onInit.action, errorOf(onInit))
	}
	return b, r.handle(t, uhiclient.ActionConfirm, r.eua.ConfirmBody(b, onInit.body, ""), false)
}

func TestEachRequestGoesToItsDoctorsDesk(t *testing.T) {
	r := newServiceRig(t)
	bA, cbA := r.book(t, drA)
	bB, cbB := r.book(t, drB)
	for _, c := range []sent{cbA, cbB} {
		if euatest.OrderState(c.body) != uhiclient.StateConfirmed {
			t.Fatalf("confirm answered %s %s", euatest.OrderState(c.body), errorOf(c))
		}
	}
	for doc, b := range map[string]*euatest.Booking{drA: bA, drB: bB} {
		o, err := r.store.Order(context.Background(), b.OrderID)
		if err != nil || o.Doctor != doc || o.State != booking.StateConfirmed {
			t.Fatalf("order %s: %+v, %v; want %s's, confirmed", b.OrderID, o, err, doc)
		}
		st := r.handle(t, uhiclient.ActionStatus, r.eua.StatusBody(b), false)
		if got := euatest.Str(st.body, "message.order.fulfillment.agent.id"); got != doc {
			t.Fatalf("status of %s's order names %q: %s", doc, got, errorOf(st))
		}
	}
	// The doctor's cancel goes to the patient's app the order stored.
	o, err := r.svc.Cancel(context.Background(), bB.OrderID, booking.DoctorCancelReasons()[0])
	if err != nil || o.State != booking.StateCancelled {
		t.Fatalf("the doctor's cancel: %v, %v", o.State, err)
	}
	r.svc.Wait()
	told := r.out.last(t)
	if told.action != uhiclient.ActionOnCancel || told.base != r.eua.URI() ||
		euatest.Str(told.body, "message.order.id") != bB.OrderID {
		t.Fatalf("the patient was told %s at %s", told.action, told.base)
	}
	if a, _ := r.store.Order(context.Background(), bA.OrderID); a.State != booking.StateConfirmed {
		t.Fatalf("cancelling Dr B's appointment left Dr A's %v", a.State)
	}
}

func TestARequestWithNoDoctorOfManyIsRefused(t *testing.T) {
	r := newServiceRig(t)
	body := r.eua.SlotsBody(euatest.Doctor{ID: "nobody@hpr.abdm"}, time.Now(), "")
	cb := r.handle(t, uhiclient.ActionSearch, body, false)
	if !strings.Contains(errorOf(cb), "nobody@hpr.abdm is not a doctor of this provider") {
		t.Fatalf("a slot search for an unknown doctor got %s", errorOf(cb))
	}
	st := r.handle(t, uhiclient.ActionStatus, r.eua.StatusBody(&euatest.Booking{TransactionID: "t1", OrderID: "0000-000000-0000"}), false)
	if code := euatest.Str(st.body, "error.code"); code != uhiclient.CodeUnknownOrder {
		t.Fatalf("status of an unknown order got %q", errorOf(st))
	}
}

func TestTwoDesksOfOneDoctorAreRefused(t *testing.T) {
	store := booking.NewMemoryStore()
	d1, _ := booking.NewDesk(schedule(t, drA, "A", "x"), store)
	d2, _ := booking.NewDesk(schedule(t, strings.ToUpper(drA), "A", "x"), store)
	if _, err := New(Config{Desks: []*booking.Desk{d1, d2}, ProviderID: "p", ProviderURI: "http://p.test", Out: &outbox{}}); err == nil {
		t.Fatal("two schedules of one doctor were taken")
	}
}

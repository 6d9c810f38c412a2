package app

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"teleconsole/booking"
	"teleconsole/call"
	"teleconsole/internal/euatest"
	"teleconsole/simpatient"
	"teleconsole/uhiclient"
	"teleconsole/waitingroom"
)

// bookingSchedule has slots of both kinds around the clock, so a test
// finds one starting within the next quarter of an hour whenever it runs.
const bookingSchedule = `{
  "doctor": {"name": "Dr Ganesh Borse", "hpr": "` + testDoctor + `", "gender": "M",
             "speciality": "General Medicine", "system": "ALLOPATHY", "languages": ["en", "hi"],
             "facility": {"name": "Borse Clinic", "city": "Pune", "pincode": "411001"}},
  "services": {
    "teleconsultation": {"slot_minutes": 15, "fee": "300", "hours": {"daily": ["00:00-24:00"]}},
    "physical": {"slot_minutes": 20, "fee": "500", "hours": {"daily": ["00:00-24:00"]}}
  }
}`

// bookingRig is a console that takes bookings, a UHI gateway with its
// registry, and the keys that sign between them: every request and every
// callback is signed and checked, as on the network.
type bookingRig struct {
	*rig
	gw *euatest.Gateway
}

func newBookingRig(t *testing.T, opts ...call.Option) *bookingRig {
	t.Helper()
	gw := euatest.NewGateway(t)
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	gw.Register("teleconsole", "k1", pub)
	signer, err := uhiclient.NewSigner(priv, "teleconsole", "k1")
	if err != nil {
		t.Fatal(err)
	}
	registry, err := uhiclient.NewRegistry(gw.RegistryURL())
	if err != nil {
		t.Fatal(err)
	}
	verifier, _ := uhiclient.NewSignatureVerifier(registry)
	gatewayVerifier, _ := uhiclient.NewSignatureVerifier(registry, uhiclient.WithSignatureHeader(uhiclient.GatewayAuthorizationHeader))
	plan, err := booking.ParseSchedule([]byte(bookingSchedule))
	if err != nil {
		t.Fatal(err)
	}
	desk, err := booking.NewDesk(plan, booking.NewMemoryStore())
	if err != nil {
		t.Fatal(err)
	}
	chatKey, err := uhiclient.NewChatKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r := newConfigRig(t, func(c *Config) {
		c.Signer, c.Verifier, c.ChatKey = signer, verifier, &chatKey
		c.Booking = &Booking{Desk: desk, Gateway: gw.URL() + "/api/v1/uhi", GatewayVerifier: gatewayVerifier, Helpline: "+91-20-2555-0101"}
		gw.AddHSPA(c.ProviderURI)
	}, opts...)
	return &bookingRig{rig: r, gw: gw}
}

func (b *bookingRig) eua(flavour euatest.Flavour, abha string) *euatest.EUA {
	return euatest.NewEUA(b.t.(*testing.T), euatest.Config{SubscriberID: "eua-" + strings.Split(abha, "@")[0], UniqueKeyID: "k1",
		Flavour: flavour, Gateway: b.gw, Patient: euatest.Patient{ABHAAddress: abha, Name: "Asha Kulkarni", Gender: "F"}})
}

// book runs a booking from the gateway's search to on_confirm, and
// returns the booking and its on_confirm.
func (b *bookingRig) book(e *euatest.EUA, patientKey string) (*euatest.Booking, map[string]any) {
	t := b.t.(*testing.T)
	t.Helper()
	txn, err := e.SearchDoctors(euatest.Filters{Speciality: "General Medicine", City: "Pune"})
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	cat, err := e.Wait("on_search", txn)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	docs := euatest.Doctors(cat)
	if len(docs) != 1 || docs[0].ID != testDoctor || docs[0].Name != "Dr Ganesh Borse" {
		t.Fatalf("catalog's doctors: %+v", docs)
	}
	txn, err = e.SearchSlots(docs[0], time.Now())
	if err != nil {
		t.Fatalf("slot search: %v", err)
	}
	cb, err := e.Wait("on_search", txn)
	if err != nil {
		t.Fatalf("slots: %v", err)
	}
	slots := euatest.Slots(cb)
	if len(slots) == 0 {
		t.Fatalf("no slots offered: %v", cb)
	}
	for _, s := range slots {
		if !strings.EqualFold(s.Type, e.Flavour().Type()) {
			t.Fatalf("a %s slot offered to a %s search", s.Type, e.Flavour().Type())
		}
	}
	bk, err := e.Init(slots[0])
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	onInit, err := e.Wait("on_init", bk.TransactionID)
	if err != nil || euatest.Str(onInit, "message.order.id") == "" {
		t.Fatalf("on_init: %v %v", onInit, err)
	}
	if err := e.Confirm(bk, onInit, patientKey); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	onConfirm, err := e.Wait("on_confirm", bk.TransactionID)
	if err != nil {
		t.Fatalf("on_confirm: %v", err)
	}
	return bk, onConfirm
}

// auditEqual checks that the gateway holds an audit copy of cb, byte for byte.
func (b *bookingRig) auditEqual(action, txn string, cb euatest.Message) {
	t := b.t.(*testing.T)
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, a := range b.gw.Audits(action) {
			if a.TransactionID == txn && a.MessageID == cb.MessageID {
				if string(a.Body) != string(cb.Body) {
					t.Errorf("audit copy of %s differs from the callback:\n%s\n%s", action, a.Body, cb.Body)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit copy of %s %s at the gateway", action, cb.MessageID)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestBookingInClinicThroughTheGateway books an in-clinic visit as
// today's network does, with an independent patient app through a gateway,
// checks the patient in with the PIN, and completes the visit: every
// change reaches the patient's app, and the gateway holds an audit copy of
// each callback.
func TestBookingInClinicThroughTheGateway(t *testing.T) {
	b := newBookingRig(t)
	e := b.eua(euatest.Physical, "asha@sbx")
	bk, onConfirm := b.book(e, "")
	if st := euatest.OrderState(onConfirm); st != "CONFIRMED" {
		t.Fatalf("on_confirm state %q: %v", st, onConfirm)
	}
	pin, status := euatest.PIN(onConfirm)
	if len(pin) != 4 || status != "GENERATED" {
		t.Fatalf("PIN %q status %q", pin, status)
	}
	confirmMsg := e.Callbacks()
	var cb euatest.Message
	for _, m := range confirmMsg {
		if m.Endpoint == "on_confirm" {
			cb = m
		}
	}
	b.auditEqual("on_confirm", bk.TransactionID, cb)

	day, err := b.console.Day(time.Now())
	if err != nil || len(day) != 1 || day[0].Kind != booking.KindPhysical || day[0].State != booking.StateConfirmed ||
		day[0].Patient.Address != "asha@sbx" {
		t.Fatalf("the doctor's day: %+v %v", day, err)
	}
	if strings.Contains(b.rig.logs.String(), pin) {
		t.Errorf("the PIN is in the log")
	}
	id := day[0].ID
	wrong := "0000"
	if pin == wrong {
		wrong = "1111"
	}
	if err := b.console.CheckIn(id, wrong); err == nil {
		t.Fatal("check-in with a wrong PIN accepted")
	}
	if err := b.console.CheckIn(id, pin); err != nil {
		t.Fatalf("check-in: %v", err)
	}
	up, err := e.WaitMessage("on_update", bk.TransactionID)
	if err != nil || euatest.Str(up.JSON, "message.order.authorization.status") != "VERIFIED" {
		t.Fatalf("on_update after check-in: %v %v", up.JSON, err)
	}
	b.auditEqual("on_update", bk.TransactionID, up)
	if err := b.console.StartVisit(id); err != nil {
		t.Fatal(err)
	}
	if up, err = e.WaitMessage("on_update", bk.TransactionID); err != nil || euatest.OrderState(up.JSON) != "APPOINTMENT_STARTED" {
		t.Fatalf("on_update started: %v %v", up.JSON, err)
	}
	if err := b.console.CompleteVisit(id); err != nil {
		t.Fatal(err)
	}
	if up, err = e.WaitMessage("on_update", bk.TransactionID); err != nil || euatest.OrderState(up.JSON) != "COMPLETED" {
		t.Fatalf("on_update completed: %v %v", up.JSON, err)
	}
	if err := e.Status(bk); err != nil {
		t.Fatal(err)
	}
	st, err := e.WaitMessage("on_status", bk.TransactionID)
	if err != nil || euatest.OrderState(st.JSON) != "COMPLETED" {
		t.Fatalf("on_status: %v %v", st.JSON, err)
	}
	b.auditEqual("on_status", bk.TransactionID, st)
}

// TestBookedTeleconsultationBecomesTheCall books a teleconsultation in
// the reference patient app's shape, with its chat key; the patient's
// READY on the booking's transaction marks the appointment arrived, the
// call moves it to started and completed, and the patient's app is told.
func TestBookedTeleconsultationBecomesTheCall(t *testing.T) {
	b := newBookingRig(t)
	e := b.eua(euatest.Teleconsultation, "ravi@sbx")
	patientKey, err := uhiclient.NewChatKeyPair(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bk, onConfirm := b.book(e, patientKey.Public.String())
	if st := euatest.OrderState(onConfirm); st != "CONFIRMED" {
		t.Fatalf("on_confirm: %v", onConfirm)
	}
	if k := euatest.DoctorsKey(onConfirm); k == "" {
		t.Errorf("no doctor's chat key in on_confirm: %v", onConfirm)
	}
	if _, ok := b.console.front.chatKey("ravi@sbx"); !ok {
		t.Error("the patient's chat key from confirm is not used for the chat")
	}
	// The patient's app that booked now calls from its waiting room: a
	// simulated patient with the booking's address and transaction, its
	// requests signed with a key the gateway's registry knows.
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b.gw.Register("sim-ravi", "k1", pub)
	signer, _ := uhiclient.NewSigner(priv, "sim-ravi", "k1")
	if b.rig.client, err = uhiclient.NewClient(uhiclient.WithSigner(signer), uhiclient.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, events := b.addPatient(simpatientConfig("ravi@sbx", bk.TransactionID, &patientKey))
	b.waitPatient("ravi@sbx", waitingroom.StateWaiting, 10*time.Second)
	b.waitAppointment(booking.StateArrived)
	if err := b.console.Call("ravi@sbx"); err != nil {
		t.Fatal(err)
	}
	b.waitState(call.StateConnected, 20*time.Second)
	b.waitAppointment(booking.StateInCall)
	if up, err := e.WaitMessage("on_update", bk.TransactionID); err != nil || euatest.OrderState(up.JSON) != "APPOINTMENT_STARTED" {
		t.Fatalf("on_update when the call connected: %v %v", up.JSON, err)
	}
	b.console.Hangup()
	b.waitState(call.StateEnded, 10*time.Second)
	b.waitAppointment(booking.StateCompleted)
	up, err := e.WaitMessage("on_update", bk.TransactionID)
	if err != nil || euatest.OrderState(up.JSON) != "COMPLETED" {
		t.Fatalf("on_update when the call ended: %v %v", up.JSON, err)
	}
	b.auditEqual("on_update", bk.TransactionID, up)
	_ = events
}

func (b *bookingRig) waitAppointment(want booking.State) booking.Order {
	t := b.t.(*testing.T)
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		day, err := b.console.Day(time.Now())
		if err == nil && len(day) == 1 && day[0].State == want {
			return day[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the appointment never %s: %+v %v", want, day, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func simpatientConfig(addr, txn string, key *uhiclient.ChatKeyPair) simpatient.Config {
	return simpatient.Config{Address: addr, Name: "Ravi", TransactionID: txn, ChatKey: key, Listen: "127.0.0.1:0"}
}

// TestBookingRefusalsChangeNothing sends what a careless or hostile
// patient app might, each answered with a NACK or an error callback that
// says why, and none of which changes a slot or an order.
func TestBookingRefusalsChangeNothing(t *testing.T) {
	b := newBookingRig(t)
	asha := b.eua(euatest.Physical, "asha@sbx")
	ravi := b.eua(euatest.Physical, "ravi@sbx")
	booked, _ := b.book(asha, "")
	day := func() []booking.Order {
		d, err := b.console.Day(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	before := day()
	if len(before) != 1 {
		t.Fatalf("the day before: %+v", before)
	}

	// Transport faults: NACKed at once, nothing handled.
	body := ravi.InitBody(ravi.NewBooking(booked.Slot))
	for name, send := range map[string]func(string, map[string]any) (euatest.Reply, error){
		"unsigned": ravi.SendUnsigned, "forged": ravi.SendForged, "tampered": ravi.SendTampered, "expired": ravi.SendExpired,
	} {
		r, err := send(booked.ProviderURI+"/init", body)
		if err != nil || r.Status != 401 || r.Ack != "NACK" {
			t.Errorf("%s init: %+v %v", name, r, err)
		}
	}
	garbled := ravi.InitBody(ravi.NewBooking(booked.Slot))
	euatest.SetSlotTimes(garbled, euatest.MalformedTime, euatest.MalformedTime)
	if r, err := ravi.Send(booked.ProviderURI+"/init", garbled); err != nil || r.Status != 400 || r.ErrorCode != uhiclient.CodeInvalidJSON || !strings.Contains(r.ErrorMessage, "timestamp") {
		t.Errorf("a malformed time: %+v %v", r, err)
	}

	// The slot asha booked, asked for by ravi (its time with a Z, which is
	// read as the same local time): an error callback naming the slot taken.
	taken := ravi.NewBooking(booked.Slot)
	zulu := ravi.InitBody(taken)
	euatest.SetSlotTimes(zulu, euatest.Zulu(booked.Slot.Start), euatest.Zulu(booked.Slot.End))
	if r, err := ravi.Send(booked.ProviderURI+"/init", zulu); err != nil || !r.OK() {
		t.Fatalf("init of a taken slot: %+v %v", r, err)
	}
	cb, err := ravi.Wait("on_init", taken.TransactionID)
	if err != nil || euatest.Str(cb, "error.code") != uhiclient.CodeSlotTaken || !strings.Contains(euatest.Str(cb, "error.message"), "taken") {
		t.Errorf("on_init for a taken slot: %v %v", cb, err)
	}

	// Status and cancel of an order that does not exist, and of asha's by ravi.
	ghost := *booked
	ghost.OrderID, ghost.TransactionID = "0000-000000-0000", "ghost-txn"
	if err := ravi.Status(&ghost); err != nil {
		t.Fatal(err)
	}
	if cb, err := ravi.Wait("on_status", "ghost-txn"); err != nil || euatest.Str(cb, "error.code") != uhiclient.CodeUnknownOrder {
		t.Errorf("on_status of an unknown order: %v %v", cb, err)
	}
	stolen := *booked
	stolen.TransactionID = "stolen-txn"
	if err := ravi.Cancel(&stolen, "PATIENT_HEALTH_IMPROVED"); err != nil {
		t.Fatal(err)
	}
	if cb, err := ravi.Wait("on_cancel", "stolen-txn"); err != nil || euatest.Str(cb, "error.code") != uhiclient.CodeNotYours {
		t.Errorf("on_cancel of someone else's order: %v %v", cb, err)
	}

	// A confirm with a term not agreed.
	free := b.freeSlot(ravi)
	bk, err := ravi.Init(free)
	if err != nil {
		t.Fatal(err)
	}
	onInit, err := ravi.Wait("on_init", bk.TransactionID)
	if err != nil {
		t.Fatal(err)
	}
	confirm := ravi.ConfirmBody(bk, onInit, "")
	if !euatest.DisagreeTerm(confirm, 2, "INITIATED") {
		t.Fatal("no third term to disagree with")
	}
	if r, err := ravi.Send(bk.ProviderURI+"/confirm", confirm); err != nil || !r.OK() {
		t.Fatalf("confirm: %+v %v", r, err)
	}
	cb, err = ravi.Wait("on_confirm", bk.TransactionID)
	if err != nil || euatest.Str(cb, "error.code") != uhiclient.CodeTermsNotAgreed || euatest.OrderState(cb) != "FAILED" {
		t.Errorf("on_confirm with a term not agreed: %v %v", cb, err)
	}

	after := day()
	if len(after) != 1 || after[0].ID != before[0].ID || after[0].State != booking.StateConfirmed || after[0].Patient.Address != "asha@sbx" {
		t.Errorf("the day changed: %+v", after)
	}
	if o, err := b.console.front.desk.Order(b.ctx, bk.OrderID); err != nil || o.State != booking.StateHeld {
		t.Errorf("the order with a term not agreed: %+v %v", o, err)
	}
}

// freeSlot finds a free in-clinic slot by searching as e.
func (b *bookingRig) freeSlot(e *euatest.EUA) euatest.Slot {
	t := b.t.(*testing.T)
	t.Helper()
	txn, err := e.SearchDoctors(euatest.Filters{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := e.Wait("on_search", txn)
	if err != nil || len(euatest.Doctors(cat)) == 0 {
		t.Fatalf("catalog: %v %v", cat, err)
	}
	txn, err = e.SearchSlots(euatest.Doctors(cat)[0], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cb, err := e.Wait("on_search", txn)
	if err != nil || len(euatest.Slots(cb)) == 0 {
		t.Fatalf("slots: %v %v", cb, err)
	}
	return euatest.Slots(cb)[0]
}

// TestSimulatedPatientBooks has teleconsole patient's simulated patient
// book an in-clinic slot and a teleconsultation through the gateway and
// READY on the booking: the day has both, the teleconsultation arrived.
func TestSimulatedPatientBooks(t *testing.T) {
	b := newBookingRig(t)
	pub, priv, err := uhiclient.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b.gw.Register("teleconsole-patient", "k1", pub)
	signer, _ := uhiclient.NewSigner(priv, "teleconsole-patient", "k1")
	if b.rig.client, err = uhiclient.NewClient(uhiclient.WithSigner(signer), uhiclient.WithRetry(3, 20*time.Millisecond, 200*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	_, clinic := b.addPatient(simpatient.Config{Address: "meera@sbx", Name: "Meera", Listen: "127.0.0.1:0",
		Book: &simpatient.Book{Type: "Physical"}})
	booked := waitPatientEvent(t, clinic, simpatient.EventBooked, 10*time.Second)
	if len(booked.Data) != 4 || strings.Contains(booked.Text, string(booked.Data)) {
		t.Errorf("an in-clinic booking's PIN %q, text %q", booked.Data, booked.Text)
	}
	_, tele := b.addPatient(simpatient.Config{Address: "ravi@sbx", Name: "Ravi", Listen: "127.0.0.1:0",
		Book: &simpatient.Book{Type: "Teleconsultation", Gateway: b.gw.URL() + "/api/v1/uhi"}})
	waitPatientEvent(t, tele, simpatient.EventBooked, 10*time.Second)
	waitPatientEvent(t, tele, simpatient.EventAcked, 10*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for {
		day, err := b.console.Day(time.Now())
		kinds := map[booking.Kind]booking.State{}
		for _, o := range day {
			kinds[o.Kind] = o.State
		}
		if err == nil && len(day) == 2 && kinds[booking.KindPhysical] == booking.StateConfirmed && kinds[booking.KindTele] == booking.StateArrived {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the day: %+v %v", day, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

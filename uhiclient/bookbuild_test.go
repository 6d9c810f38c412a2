package uhiclient

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateGoldens = flag.Bool("update", false, "rewrite testdata/booking's callback goldens from the builders")

func testBookingBuilder(t *testing.T) *BookingBuilder {
	t.Helper()
	n := 0
	b, err := NewBookingBuilder("teleconsole", "http://192.0.2.10:8901/api/v1",
		WithBuilderClock(func() time.Time { return time.Date(2026, 12, 1, 5, 0, 1, 250000000, time.UTC) }),
		WithIDGenerator(func() string { n++; return fmt.Sprintf("aaaaaaaa-0000-4000-8000-%012d", n) }))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeGolden(t *testing.T, file, action string) *BookingEnvelope {
	t.Helper()
	e, err := DecodeBooking(action, readGolden(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var raoDoctor = Doctor{HPRAddress: "rao@hpr.ndhm", Name: "Dr Rao", Gender: "M", Image: "https://clinic.example/rao.jpg",
	Speciality: "Cardiology", SystemOfMedicine: "ALLOPATHY", Languages: "English, Hindi, Kannada", Education: "MBBS, MD",
	Experience: "15.0", HPRID: "71-0000-1111-2222", HFRID: "IN2910000074", HIPID: "IN2910000074"}

var sunrise = Facility{ID: "sunrise-clinic", Name: "Sunrise Clinic", Location: &Location{ID: "sunrise-1",
	GPS: "12.9716,77.5946", Address: &Address{Name: "Sunrise Clinic", Street: "MG Road", City: "Bengaluru",
		State: "Karnataka", Country: "IND", AreaCode: "560001"}}}

func indiaAt(y int, mo time.Month, d, h, mi int) time.Time {
	return time.Date(y, mo, d, h, mi, 0, 0, IndiaTime())
}

// TestBookingCallbackGoldens builds every callback of the HSPA in both
// shapes (Physical 2026 with terms, PIN and authorization; the reference's
// teleconsultation), compares it with its golden file, and reads it back
// with DecodeBooking (docs/protocol.md §8).
func TestBookingCallbackGoldens(t *testing.T) {
	b := testBookingBuilder(t)
	initP, initT := decodeGolden(t, "init_physical.json", ActionInit), decodeGolden(t, "init_tele.json", ActionInit)
	confP, confT := decodeGolden(t, "confirm_physical.json", ActionConfirm), decodeGolden(t, "confirm_tele.json", ActionConfirm)
	slotStart := indiaAt(2026, 12, 2, 10, 30)

	confirmedP := b.OnConfirm(confP, Confirmation{State: StateConfirmed,
		Authorization: PINAuthorization("0427", indiaAt(2026, 12, 1, 10, 30), slotStart), MessagingSupport: true, HelplineNumber: "08012345678"})
	confirmedT := b.OnConfirm(confT, Confirmation{State: StateConfirmed, MessagingSupport: true,
		DoctorsKey: "[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32]"})

	started := cloneOrder(confirmedP.Message.Order)
	started.State, started.Authorization.Status = StateAppointmentStarted, PINVerified
	started.Fulfillment.Tags.Set(TagCareContextID, "cc-1042")
	completedT := cloneOrder(confirmedT.Message.Order)
	completedT.State = StateCompleted
	completedT.Fulfillment.Tags.Set(TagCareContextID, "cc-2051")

	failed := cloneOrder(confP.Message.Order)
	failed.State = StateFailed

	cases := []struct {
		file, action string
		env          *BookingEnvelope
	}{
		{"on_search_doctors_physical.json", ActionOnSearch, b.OnSearchDoctors(decodeGolden(t, "search_physical.json", ActionSearch).Context,
			"Sunrise Clinic", sunrise, []CatalogDoctor{{Doctor: raoDoctor, FulfillmentID: "rao@hpr.ndhm-physical", Type: ServicePhysical.Wire("Physical"),
				Fee: "500.0", FollowUpFee: "300.0", Start: indiaAt(2026, 12, 2, 9, 0), End: indiaAt(2026, 12, 2, 13, 0)}})},
		{"on_search_doctors_tele.json", ActionOnSearch, b.OnSearchDoctors(decodeGolden(t, "search_tele.json", ActionSearch).Context,
			"Sunrise Clinic", sunrise, []CatalogDoctor{{Doctor: raoDoctor, FulfillmentID: "rao@hpr.ndhm-tele",
				Type: ServiceTeleconsultation.Wire("Teleconsultation"), Fee: "400.0"}})},
		{"on_search_slots_physical.json", ActionOnSearch, b.OnSearchSlots(decodeGolden(t, "search_slots_physical.json", ActionSearch).Context,
			"Sunrise Clinic", sunrise, raoDoctor, []CatalogSlot{
				{ID: "d680dd36-1d0d-43c6-96c4-dec0f06008ea", Type: "Physical", Start: slotStart, End: slotStart.Add(15 * time.Minute), Fee: "500.0"},
				{ID: "5d3b0e8c-7a51-4a43-8f0e-3e6b1c9a2f11", Type: "Physical", Start: slotStart.Add(15 * time.Minute), End: slotStart.Add(30 * time.Minute), Fee: "500.0"}})},
		{"on_search_slots_tele.json", ActionOnSearch, b.OnSearchSlots(decodeGolden(t, "search_slots_tele.json", ActionSearch).Context,
			"Sunrise Clinic", sunrise, raoDoctor, []CatalogSlot{
				{ID: "0b6f9c1e-5a1f-4c55-9a34-6a3a5c1b2e10", Type: ServiceTeleconsultation.Wire("Online"), Start: indiaAt(2026, 12, 2, 11, 0), End: indiaAt(2026, 12, 2, 11, 15), Fee: "400.0"}})},
		{"on_init_physical.json", ActionOnInit, b.OnInit(initP, "1042-696786-8441", ConsultationQuote("500.0"), InitiatedTerms(slotStart, map[string]TermText{
			"Cancellation": {Name: "Cancellation terms", Short: "Free until 2 hours before", Long: "Cancel free of charge until 2 hours before the slot."}}))},
		{"on_init_tele.json", ActionOnInit, b.OnInit(initT, "2051-123456-7788", ConsultationQuote("400.0"), nil)},
		{"on_confirm_physical.json", ActionOnConfirm, confirmedP},
		{"on_confirm_tele.json", ActionOnConfirm, confirmedT},
		{"on_confirm_failed_physical.json", ActionOnConfirm, b.ErrorCallback(confP.Context, ActionOnConfirm, CodeSlotTaken,
			"slot d680dd36-1d0d-43c6-96c4-dec0f06008ea is taken", failed)},
		{"on_status_physical.json", ActionOnStatus, b.OnStatus(decodeGolden(t, "status_physical.json", ActionStatus).Context, confirmedP.Message.Order)},
		{"on_status_tele.json", ActionOnStatus, b.OnStatus(confT.Context, completedT)},
		{"on_status_unknown_tele.json", ActionOnStatus, b.ErrorCallback(decodeGolden(t, "status_tele.json", ActionStatus).Context, ActionOnStatus,
			CodeUnknownOrder, "no order 9999-000000-0000 here", nil)},
		{"on_update_physical.json", ActionOnUpdate, b.OnUpdate(confP.Context, started)},
		{"on_update_tele.json", ActionOnUpdate, b.OnUpdate(confT.Context, completedT)},
		{"on_cancel_physical.json", ActionOnCancel, b.OnCancel(confP.Context, confirmedP.Message.Order, CancelledByDoctor, "DOCTOR_UNAVAILABLE")},
		{"on_cancel_tele.json", ActionOnCancel, b.OnCancel(decodeGolden(t, "cancel_tele.json", ActionCancel).Context, confirmedT.Message.Order,
			CancelledByPatient, "PATIENT_OTHER: feeling better")},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			raw, err := MarshalBooking(c.env)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, raw, "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "booking", c.file)
			if *updateGoldens {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("%s differs from its golden:\n%s", c.file, pretty.Bytes())
			}
			back, err := DecodeBooking(c.action, raw)
			if err != nil {
				t.Fatalf("our own callback does not decode: %v", err)
			}
			ctx := back.Context
			eq(t, "action", ctx.Action, c.action)
			eq(t, "provider", ctx.ProviderID, "teleconsole")
			eq(t, "provider uri", ctx.ProviderURI, "http://192.0.2.10:8901/api/v1")
			eq(t, "timestamp", ctx.Timestamp, "2026-12-01T05:00:01.250000Z")
			eq(t, "consumer", ctx.ConsumerURI, "https://eua.example/api/v1/euaService")
			if !strings.HasPrefix(ctx.MessageID, "aaaaaaaa-") {
				t.Errorf("message_id %q is not a new one", ctx.MessageID)
			}
			if !strings.HasPrefix(ctx.TransactionID, "6f7a1c2e-") {
				t.Errorf("transaction_id %q not echoed", ctx.TransactionID)
			}
		})
	}
}

// TestBookingCallbackContents checks what each callback must say, beyond
// its golden: the service type echoed, both tag spellings on the agent,
// the five terms, the PIN, the keys, the cancel tags.
func TestBookingCallbackContents(t *testing.T) {
	b := testBookingBuilder(t)
	search := decodeGolden(t, "search_slots_tele.json", ActionSearch)
	cat := b.OnSearchSlots(search.Context, "c", sunrise, raoDoctor, []CatalogSlot{{ID: "s1",
		Type: ServiceTeleconsultation.Wire(search.Message.Intent.Fulfillment.Type), Start: indiaAt(2026, 12, 2, 11, 0), End: indiaAt(2026, 12, 2, 11, 15), Fee: "400.0"}})
	f := cat.Message.Catalog.Providers[0].Fulfillments[0]
	eq(t, "type echoed", f.Type, "Online")
	eq(t, "start", f.Start.Time.Timestamp, "2026-12-02T11:00:00")
	eq(t, "languages dot", f.Agent.Tags["@abdm/gov.in/languages"], "English, Hindi, Kannada")
	eq(t, "languages slash", f.Agent.Tags["@abdm/gov/in/languages"], "English, Hindi, Kannada")
	eq(t, "hpr slash", f.Agent.Tags["@abdm/gov/in/hpr_id"], "71-0000-1111-2222")
	it := cat.Message.Catalog.Providers[0].Items[0]
	eq(t, "item slot", it.FulfillmentID, "s1")
	eq(t, "fee", it.Price.Value, "400.0")
	eq(t, "category parent", cat.Message.Catalog.Providers[0].Categories[0].ParentCategoryID, "ALLOPATHY")

	initP := decodeGolden(t, "init_physical.json", ActionInit)
	onInit := b.OnInit(initP, "1-2-3", ConsultationQuote("500.0"), InitiatedTerms(indiaAt(2026, 12, 2, 10, 30), nil))
	o := onInit.Message.Order
	eq(t, "terms", len(o.Terms), 5)
	for i, typ := range TermTypes() {
		eq(t, "term type", o.Terms[i].Type, typ)
		eq(t, "term state", o.Terms[i].TermsState, TermsInitiated)
	}
	if _, bad := o.UnagreedTerm(); !bad {
		t.Error("INITIATED terms count as agreed")
	}
	eq(t, "payment", o.Payment.Status, PaymentNotPaid)
	eq(t, "quote", o.Quote.Price.Value, "500.0")
	eq(t, "slot kept", o.Fulfillment.ID, initP.Message.Order.Fulfillment.ID)
	o.Fulfillment.Tags["x"] = "y"
	if _, shared := initP.Message.Order.Fulfillment.Tags["x"]; shared {
		t.Error("the callback shares its tags with the request")
	}

	confT := decodeGolden(t, "confirm_tele.json", ActionConfirm)
	onConf := b.OnConfirm(confT, Confirmation{State: StateConfirmed, DoctorsKey: "DK"})
	eq(t, "doctors key", onConf.Message.Order.Fulfillment.Tags["@abdm/gov.in/doctors_key"], "DK")
	eq(t, "patient key echoed", onConf.Message.Order.Fulfillment.Tags.Value(TagPatientKey) != "", true)
	eq(t, "state", onConf.Message.Order.State, StateConfirmed)

	pin := PINAuthorization("0042", indiaAt(2026, 12, 1, 16, 0), indiaAt(2026, 12, 2, 10, 30))
	eq(t, "valid to end of day", pin.ValidTo, "2026-12-02T23:59:00")
	eq(t, "valid from", pin.ValidFrom, "2026-12-01T16:00:00")
	raw, _ := json.Marshal(pin)
	if !strings.Contains(string(raw), `"token":"0042"`) {
		t.Errorf("token not written as a string with its leading zeros: %s", raw)
	}
	var back OrderAuthorization
	if err := json.Unmarshal([]byte(`{"type":"PIN","token":1234,"status":"GENERATED"}`), &back); err != nil || string(back.Token) != "1234" {
		t.Errorf("numeric token read as %q, %v", back.Token, err)
	}
	if s := fmt.Sprintf("%v %+v", pin, *pin); strings.Contains(s, "0042") {
		t.Errorf("printing the authorization shows the PIN: %s", s)
	}

	cancel := decodeGolden(t, "cancel_tele.json", ActionCancel)
	onCancel := b.OnCancel(cancel.Context, cancel.Message.Order, "PATIENT", "")
	tags := onCancel.Message.Order.Fulfillment.Tags
	eq(t, "state", onCancel.Message.Order.State, StateCancelled)
	eq(t, "cancelledby", tags["@abdm/gov.in/cancelledby"], "patient")
	eq(t, "one spelling", len(tags), 1)

	bad := b.ErrorCallback(confT.Context, ActionOnConfirm, CodeTermsNotAgreed, "term Refund is INITIATED", nil)
	eq(t, "error code", bad.Error.Code, CodeTermsNotAgreed)
	eq(t, "error type", bad.Error.Type, TypeDomain)
	eq(t, "txn", bad.Context.TransactionID, confT.Context.TransactionID)
	eq(t, "audit", AuditAction(ActionOnConfirm), "on_confirm_audit")

	if _, err := NewBookingBuilder("", "http://x"); err == nil {
		t.Error("empty provider id accepted")
	}
	if _, err := NewBookingBuilder("p", "/api"); err == nil {
		t.Error("relative provider uri accepted")
	}
}

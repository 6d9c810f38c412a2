package uhiclient

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "booking", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeBookingInboundGoldens reads every request a patient's app (or
// the gateway) sends, in both shapes (docs/protocol.md §8), checks the fields
// the HSPA acts on, and checks that encoding and decoding again changes nothing.
func TestDecodeBookingInboundGoldens(t *testing.T) {
	const slot = "d680dd36-1d0d-43c6-96c4-dec0f06008ea"
	const teleSlot = "0b6f9c1e-5a1f-4c55-9a34-6a3a5c1b2e10"
	cases := []struct {
		file, action string
		check        func(t *testing.T, e *BookingEnvelope)
	}{
		{"search_physical.json", ActionSearch, func(t *testing.T, e *BookingEnvelope) {
			in := e.Message.Intent
			eq(t, "type", in.Fulfillment.ServiceType(), ServicePhysical)
			eq(t, "doctor", in.Fulfillment.Agent.Name, "Rao")
			eq(t, "speciality", in.Category.Descriptor.Code, "Cardiology")
			eq(t, "facility", in.Provider.Descriptor.Name, "Sunrise Clinic")
			eq(t, "city", in.Location.City.Name, "Bengaluru")
			eq(t, "pincode", in.Location.Address.AreaCode, "560001")
			eq(t, "from", in.Fulfillment.Start.Time.Timestamp, "2026-12-02T00:00:00")
			eq(t, "item", in.Item.Descriptor.Code, "Consultation")
		}},
		{"search_tele.json", ActionSearch, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "type", e.Message.Intent.Fulfillment.ServiceType(), ServiceTeleconsultation)
			eq(t, "wire", ServiceTeleconsultation.Wire(e.Message.Intent.Fulfillment.Type), "Teleconsultation")
		}},
		{"search_slots_physical.json", ActionSearch, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "doctor", e.Message.Intent.Fulfillment.Agent.ID, "rao@hpr.ndhm")
			eq(t, "facility", e.Message.Intent.Provider.ID, "sunrise-clinic")
		}},
		{"search_slots_tele.json", ActionSearch, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "type", e.Message.Intent.Fulfillment.ServiceType(), ServiceTeleconsultation)
			eq(t, "wire", ServiceTeleconsultation.Wire(e.Message.Intent.Fulfillment.Type), "Online")
		}},
		{"init_physical.json", ActionInit, func(t *testing.T, e *BookingEnvelope) {
			o := e.Message.Order
			eq(t, "slot", o.Fulfillment.ID, slot)
			eq(t, "slot tag", o.Fulfillment.Tags.Value(TagSlotID), slot)
			eq(t, "fee", o.TheItem().Price.Value, "500.0")
			eq(t, "patient", o.Customer.Address(), "asha@sbx")
			eq(t, "abha number", o.Customer.Person.Tags.Value(TagABHANumber), "91-1234-5678-9012")
			eq(t, "pincode", o.Billing.Address.AreaCode, "560038")
			eq(t, "payment", o.Payment.Type, PaymentOnOrder)
			eq(t, "start", o.Fulfillment.Start.Time.Timestamp, "2026-12-02T10:30:00")
		}},
		{"init_tele.json", ActionInit, func(t *testing.T, e *BookingEnvelope) {
			o := e.Message.Order
			eq(t, "slot", o.Fulfillment.ID, teleSlot)
			eq(t, "patient from cred", o.Customer.Address(), "ravi@sbx")
			eq(t, "type", o.Fulfillment.ServiceType(), ServiceTeleconsultation)
		}},
		{"confirm_physical.json", ActionConfirm, func(t *testing.T, e *BookingEnvelope) {
			o := e.Message.Order
			eq(t, "order", o.ID, "1042-696786-8441")
			eq(t, "terms", len(o.Terms), 5)
			_, bad := o.UnagreedTerm()
			eq(t, "all agreed", bad, false)
			eq(t, "first term", o.Terms[0].Type, "Commercial")
		}},
		{"confirm_tele.json", ActionConfirm, func(t *testing.T, e *BookingEnvelope) {
			o := e.Message.Order
			eq(t, "order", o.ID, "2051-123456-7788")
			eq(t, "paid", o.Payment.Status, PaymentPaid)
			if k, ok := o.Tag(TagPatientKey); !ok || !strings.HasPrefix(k, "[12, 200") {
				t.Errorf("patient key = %q, %v", k, ok)
			}
			eq(t, "no terms", len(o.Terms), 0)
		}},
		{"status_physical.json", ActionStatus, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "order", e.Message.Order.ID, "1042-696786-8441")
		}},
		{"status_tele.json", ActionStatus, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "order", e.Message.Order.ID, "2051-123456-7788")
		}},
		{"cancel_physical.json", ActionCancel, func(t *testing.T, e *BookingEnvelope) {
			o := e.Message.Order
			eq(t, "by", o.Fulfillment.Tags.Value(TagCancelledBy), CancelledByPatient)
			eq(t, "reason", o.Fulfillment.Tags.Value(TagCancelReason), "PATIENT_HEALTH_IMPROVED")
		}},
		{"cancel_tele.json", ActionCancel, func(t *testing.T, e *BookingEnvelope) {
			o := e.Message.Order
			eq(t, "by (slash spelling)", o.Fulfillment.Tags.Value(TagCancelledBy), CancelledByPatient)
			eq(t, "reason (cancelReason)", o.Fulfillment.Tags.Value(TagCancelReason), "PATIENT_OTHER: feeling better")
		}},
		{"on_update_eua_physical.json", ActionOnUpdate, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "state", e.Message.Order.State, StateDoctorNoShow)
		}},
		{"on_update_eua_tele.json", ActionOnUpdate, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "state", e.Message.Order.State, StateDoctorNoShow)
			eq(t, "type", e.Message.Order.Fulfillment.ServiceType(), ServiceTeleconsultation)
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			e, err := DecodeBooking(c.action, readGolden(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			eq(t, "action", e.Context.Action, c.action)
			eq(t, "consumer", e.Context.ConsumerURI, "https://eua.example/api/v1/euaService")
			c.check(t, e)
			again := roundTrip(t, c.action, e)
			if !reflect.DeepEqual(again, e) {
				t.Errorf("encode and decode changed the message:\n got %+v\nwant %+v", again, e)
			}
		})
	}
}

func roundTrip(t *testing.T, action string, e *BookingEnvelope) *BookingEnvelope {
	t.Helper()
	b, err := MarshalBooking(e)
	if err != nil {
		t.Fatal(err)
	}
	again, err := DecodeBooking(action, b)
	if err != nil {
		t.Fatalf("re-decode: %v\n%s", err, b)
	}
	return again
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// TestDecodeBookingRefusals breaks each thing an action needs and checks
// the error's path and kind (docs/protocol.md §8).
func TestDecodeBookingRefusals(t *testing.T) {
	del := func(path string) func(m map[string]any) {
		return func(m map[string]any) {
			i := strings.LastIndex(path, ".")
			delete(at(m, path[:i]), path[i+1:])
		}
	}
	set := func(path string, v any) func(m map[string]any) {
		return func(m map[string]any) {
			i := strings.LastIndex(path, ".")
			at(m, path[:i])[path[i+1:]] = v
		}
	}
	cases := []struct {
		name, file, action string
		edit               func(m map[string]any)
		path               string
		kind               error
	}{
		{"no context", "init_physical.json", ActionInit, func(m map[string]any) { delete(m, "context") }, "context", ErrMissingField},
		{"wrong action", "init_physical.json", ActionConfirm, nil, "context.action", ErrInvalidField},
		{"no transaction", "init_physical.json", ActionInit, del("context.transaction_id"), "context.transaction_id", ErrMissingField},
		{"no message id", "status_tele.json", ActionStatus, del("context.message_id"), "context.message_id", ErrMissingField},
		{"no consumer uri", "search_tele.json", ActionSearch, del("context.consumer_uri"), "context.consumer_uri", ErrMissingField},
		{"relative consumer uri", "search_tele.json", ActionSearch, set("context.consumer_uri", "/eua"), "context.consumer_uri", ErrInvalidField},
		{"search without intent", "search_tele.json", ActionSearch, del("message.intent"), "message.intent", ErrMissingField},
		{"init without order", "init_tele.json", ActionInit, del("message.order"), "message.order", ErrMissingField},
		{"init without fulfillment", "init_physical.json", ActionInit, del("message.order.fulfillment"), "message.order.fulfillment", ErrMissingField},
		{"init without slot", "init_physical.json", ActionInit, del("message.order.fulfillment.id"), "message.order.fulfillment.id", ErrMissingField},
		{"init without type", "init_physical.json", ActionInit, del("message.order.fulfillment.type"), "message.order.fulfillment.type", ErrMissingField},
		{"init of unknown type", "init_physical.json", ActionInit, set("message.order.fulfillment.type", "HomeVisit"), "message.order.fulfillment.type", ErrInvalidField},
		{"search of unknown type", "search_physical.json", ActionSearch, set("message.intent.fulfillment.type", "Group"), "message.intent.fulfillment.type", ErrInvalidField},
		{"confirm without order id", "confirm_physical.json", ActionConfirm, del("message.order.id"), "message.order.id", ErrMissingField},
		{"confirm without slot", "confirm_tele.json", ActionConfirm, del("message.order.fulfillment.id"), "message.order.fulfillment.id", ErrMissingField},
		{"status without order id", "status_physical.json", ActionStatus, del("message.order.id"), "message.order.id", ErrMissingField},
		{"cancel without order id", "cancel_physical.json", ActionCancel, del("message.order.id"), "message.order.id", ErrMissingField},
		{"cancel without cancelledby", "cancel_physical.json", ActionCancel, func(m map[string]any) {
			delete(at(m, "message.order.fulfillment.tags"), "@abdm/gov.in/cancelledby")
		},
			"message.order.fulfillment.tags.@abdm/gov.in/cancelledby", ErrMissingField},
		{"cancel by someone else", "cancel_physical.json", ActionCancel, func(m map[string]any) {
			at(m, "message.order.fulfillment.tags")["@abdm/gov.in/cancelledby"] = "gateway"
		},
			"message.order.fulfillment.tags.@abdm/gov.in/cancelledby", ErrInvalidField},
		{"on_update without state", "on_update_eua_tele.json", ActionOnUpdate, del("message.order.state"), "message.order.state", ErrMissingField},
		{"garbage slot time", "init_physical.json", ActionInit, set("message.order.fulfillment.start.time.timestamp", "tomorrow at ten"),
			"message.order.fulfillment.start.time.timestamp", ErrInvalidField},
		{"slot time in another zone", "init_physical.json", ActionInit, set("message.order.fulfillment.end.time.timestamp", "2026-12-02T10:45:00+01:00"),
			"message.order.fulfillment.end.time.timestamp", ErrInvalidField},
		{"search window garbage", "search_physical.json", ActionSearch, set("message.intent.fulfillment.start.time.timestamp", "2026-13-02T00:00:00"),
			"message.intent.fulfillment.start.time.timestamp", ErrInvalidField},
		{"order of wrong JSON type", "status_tele.json", ActionStatus, set("message.order", "x"), "message.order", ErrInvalidField},
		{"unknown action", "status_tele.json", "select", set("context.action", "select"), "context.action", ErrInvalidField},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := readGolden(t, c.file)
			if c.edit != nil {
				body = patch(t, body, c.edit)
			}
			_, err := DecodeBooking(c.action, body)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			eq(t, "path", fe.Path, c.path)
			if !errors.Is(err, c.kind) {
				t.Errorf("err = %v, want %v", err, c.kind)
			}
		})
	}
	for _, body := range []string{"", "[]", "{", "null", `"x"`} {
		_, err := DecodeBooking(ActionSearch, []byte(body))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "body" || !errors.Is(err, ErrMalformedJSON) {
			t.Errorf("body %q: err = %v, want malformed JSON at body", body, err)
		}
	}
}

// TestDecodeBookingLenient: what peers write differently is read the same.
func TestDecodeBookingLenient(t *testing.T) {
	base := readGolden(t, "init_physical.json")
	cases := []struct {
		name string
		edit func(m map[string]any)
		want func(t *testing.T, e *BookingEnvelope)
	}{
		{"Z on a local time is the same wall clock", func(m map[string]any) {
			at(m, "message.order.fulfillment.start.time")["timestamp"] = "2026-12-02T10:30:00Z"
			at(m, "message.order.fulfillment.end.time")["timestamp"] = "2026-12-02T10:45:00.000Z"
		}, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "start", e.Message.Order.Fulfillment.Start.Time.Timestamp, "2026-12-02T10:30:00")
			eq(t, "end", e.Message.Order.Fulfillment.End.Time.Timestamp, "2026-12-02T10:45:00")
		}},
		{"+05:30 and fractions", func(m map[string]any) {
			at(m, "message.order.fulfillment.start.time")["timestamp"] = "2026-12-02T10:30:00.123+05:30"
		}, func(t *testing.T, e *BookingEnvelope) {
			eq(t, "start", e.Message.Order.Fulfillment.Start.Time.Timestamp, "2026-12-02T10:30:00")
		}},
		{"empty action is the endpoint's", func(m map[string]any) { at(m, "context")["action"] = "" },
			func(t *testing.T, e *BookingEnvelope) { eq(t, "action", e.Context.Action, ActionInit) }},
		{"type in another case", func(m map[string]any) { at(m, "message.order.fulfillment")["type"] = "PHYSICAL" },
			func(t *testing.T, e *BookingEnvelope) {
				eq(t, "type", e.Message.Order.Fulfillment.ServiceType(), ServicePhysical)
			}},
		{"items array instead of item", func(m map[string]any) {
			o := at(m, "message.order")
			o["items"] = []any{o["item"]}
			delete(o, "item")
		}, func(t *testing.T, e *BookingEnvelope) { eq(t, "fee", e.Message.Order.TheItem().Price.Value, "500.0") }},
		{"unknown fields, nulls and non-string tags", func(m map[string]any) {
			m["extra"] = map[string]any{"x": 1}
			o := at(m, "message.order")
			o["billing"] = nil
			o["created_at"] = "2026-12-01T10:00:00"
			at(m, "message.order.fulfillment")["tags"] = map[string]any{"@abdm/gov/in/slot_id": "s1", "@abdm/gov.in/messaging_support": true, "n": 3, "z": nil}
		}, func(t *testing.T, e *BookingEnvelope) {
			tags := e.Message.Order.Fulfillment.Tags
			eq(t, "slot", tags.Value(TagSlotID), "s1")
			eq(t, "messaging", tags.Value(TagMessagingSupport), "true")
			eq(t, "number", tags["n"], "3")
			if e.Message.Order.Billing != nil {
				t.Errorf("billing = %+v, want nil", e.Message.Order.Billing)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := DecodeBooking(ActionInit, patch(t, base, c.edit))
			if err != nil {
				t.Fatal(err)
			}
			c.want(t, e)
		})
	}
}

func TestTagsBothSpellings(t *testing.T) {
	for _, key := range []string{"@abdm/gov.in/patient_key", "@abdm/gov/in/patient_key", "patient_key"} {
		tags := Tags{key: "K"}
		for _, name := range []string{TagPatientKey, "@abdm/gov.in/patient_key", "@abdm/gov/in/patient_key"} {
			if v, ok := tags.Get(name); !ok || v != "K" {
				t.Errorf("Tags{%q}.Get(%q) = %q, %v", key, name, v, ok)
			}
		}
	}
	for _, key := range []string{"@abdm/gov.in/cancel_reason", "@abdm/gov/in/cancel_reason", "@abdm/gov.in/cancelReason", "@abdm/gov/in/cancelReason", "cancelReason"} {
		if v := (Tags{key: "P1"}).Value(TagCancelReason); v != "P1" {
			t.Errorf("cancel reason from %q = %q", key, v)
		}
	}
	if _, ok := (Tags{"@abdm/gov.in/patient_key": "  "}).Get(TagPatientKey); ok {
		t.Error("a blank value counts as present")
	}
	if _, ok := (Tags{"@abdm/gov.in/doctors_key": "K"}).Get(TagPatientKey); ok {
		t.Error("another tag answered")
	}
	both := Tags(nil).SetBoth(TagLanguages, "English, Hindi")
	eq(t, "dot", both["@abdm/gov.in/languages"], "English, Hindi")
	eq(t, "slash", both["@abdm/gov/in/languages"], "English, Hindi")
	eq(t, "one only", len(Tags(nil).Set(TagLanguages, "x")), 1)
}

func TestServiceTypeSpellings(t *testing.T) {
	for s, want := range map[string]ServiceType{
		"Physical": ServicePhysical, "physical": ServicePhysical, "Online": ServiceTeleconsultation,
		"ONLINE": ServiceTeleconsultation, "online": ServiceTeleconsultation, "Teleconsultation": ServiceTeleconsultation,
		"teleconsultation": ServiceTeleconsultation, " TeleConsultation ": ServiceTeleconsultation,
		"": ServiceUnknown, "Group": ServiceUnknown, "Tele": ServiceUnknown,
	} {
		eq(t, s, ParseServiceType(s), want)
	}
	eq(t, "physical emitted", ServicePhysical.Wire("physical"), "Physical")
	eq(t, "physical default", ServicePhysical.Wire(""), "Physical")
	eq(t, "online echoed", ServiceTeleconsultation.Wire("Online"), "Online")
	eq(t, "lower echoed", ServiceTeleconsultation.Wire("teleconsultation"), "teleconsultation")
	eq(t, "tele default", ServiceTeleconsultation.Wire(""), "Teleconsultation")
	eq(t, "tele when asked physical", ServiceTeleconsultation.Wire("Physical"), "Teleconsultation")
	eq(t, "strings", ServicePhysical.String()+ServiceTeleconsultation.String()+ServiceUnknown.String(), "PhysicalTeleconsultationunknown")
}

func TestLocalTime(t *testing.T) {
	want := time.Date(2026, 12, 2, 10, 30, 0, 0, IndiaTime())
	for _, s := range []string{"2026-12-02T10:30:00", "2026-12-02T10:30:00Z", "2026-12-02T10:30:00.000Z", "2026-12-02T10:30:00+05:30", " 2026-12-02T10:30:00 "} {
		got, err := ParseLocalTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseLocalTime(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "2026-12-02", "2026-12-02 10:30:00", "2026-12-02T10:30:00+00:00", "2026-12-02T25:00:00", "10:30", "2026-12-02T10:30:00ZZ"} {
		if _, err := ParseLocalTime(s); !errors.Is(err, ErrInvalidField) {
			t.Errorf("ParseLocalTime(%q) err = %v, want ErrInvalidField", s, err)
		}
	}
	eq(t, "format", FormatLocalTime(time.Date(2026, 12, 2, 5, 0, 59, 900, time.UTC)), "2026-12-02T10:30:59")
}

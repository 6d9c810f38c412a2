package euatest

import (
	"encoding/json"
	"errors"
)

// The patient's side of the call's signalling, as far as a booking test
// needs it: the READY that says the booked patient is in the waiting room,
// and reading what the doctor sends back. The shapes are those of
// /work/shared/docs/uhi-signalling.md §2 and §3 (docs/protocol.md §2, §3).

// ReadyBody is the patient's READY to the booked doctor: an on_message on the
// booking's transaction, its content_value the string
// {"type":"READY","data":true,"sender":<ABHA address>}.
func (e *EUA) ReadyBody(b *Booking) map[string]any {
	p := e.cfg.Patient
	doctor := Str(b.Slot.Agent, "id")
	inner, err := json.Marshal(map[string]any{"type": "READY", "data": true, "sender": p.ABHAAddress})
	if err != nil {
		panic(err)
	}
	ctx := e.context("on_message", b.TransactionID, b.ProviderID, b.ProviderURI)
	person := func(name, gender, addr string) map[string]any {
		return map[string]any{"person": map[string]any{"name": name, "gender": gender, "image": "", "cred": addr, "id": addr}}
	}
	chat := map[string]any{
		"sender":   person(p.Name, p.Gender, p.ABHAAddress),
		"receiver": person(Str(b.Slot.Agent, "name"), Str(b.Slot.Agent, "gender"), doctor),
		"content": map[string]any{"content_id": ctx["message_id"], "content_value": string(inner),
			"content_type": "video_call_signalling", "content_url": nil},
		"time": map[string]any{"timestamp": Local(e.now())},
	}
	return map[string]any{"context": ctx, "message": map[string]any{"intent": map[string]any{"chat": chat}}}
}

// Ready posts ReadyBody to the HSPA's /on_message.
func (e *EUA) Ready(b *Booking) error {
	if b.ProviderURI == "" {
		return errors.New("euatest: booking has no provider_uri")
	}
	return e.send(b.ProviderURI+"/on_message", e.ReadyBody(b))
}

// SignalOf decodes the signalling payload of an on_message callback: its
// type ("ACK", "OFFER"...), data and sender. ok is false when the message is
// not signalling or its content_value does not parse.
func SignalOf(cb map[string]any) (typ string, data any, sender string, ok bool) {
	if Str(cb, "message.intent.chat.content.content_type") != "video_call_signalling" {
		return "", nil, "", false
	}
	var s struct {
		Type   string `json:"type"`
		Data   any    `json:"data"`
		Sender string `json:"sender"`
	}
	switch v := Get(cb, "message.intent.chat.content.content_value").(type) {
	case string:
		if json.Unmarshal([]byte(v), &s) != nil {
			return "", nil, "", false
		}
	case map[string]any: // tolerated: a peer that sends the object itself
		s.Type, _ = v["type"].(string)
		s.Data = v["data"]
		s.Sender, _ = v["sender"].(string)
	default:
		return "", nil, "", false
	}
	return s.Type, s.Data, s.Sender, s.Type != ""
}

// DoctorsKey is the doctor's chat key from on_confirm's
// fulfillment.tags["@abdm/gov.in/doctors_key"], in either spelling.
func DoctorsKey(onConfirm map[string]any) string {
	return Tag(onConfirm, "message.order.fulfillment.tags", "doctors_key")
}

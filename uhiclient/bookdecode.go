package uhiclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Field paths of booking messages (docs/protocol.md §8).
const (
	pathOrder            = "message.order"
	pathOrderFulfillment = pathOrder + ".fulfillment"
	pathCancelledBy      = pathOrderFulfillment + ".tags." + TagPrefix + TagCancelledBy
)

// DecodeBooking parses the body of a booking request or callback posted
// to the endpoint of action (one of the Action* constants; docs/protocol.md
// §8). It is lenient about form (unknown fields, nulls, tags in either
// spelling, type in any case, a slot time with "Z" or "+05:30") and strict
// about meaning: what the action needs must be there, and every slot time
// must be India local time. Slot times are rewritten in the form
// LocalTimeLayout. A broken body gives a *FieldError naming the path.
//
// What each action needs, beside context (transaction_id, message_id and,
// for a request, an http(s) consumer_uri):
//
//   - search: message.intent.
//   - init: message.order.fulfillment.id; a known fulfillment.type.
//   - confirm: message.order.id, message.order.fulfillment.id; a known type.
//   - status: message.order.id.
//   - cancel: message.order.id and the cancelledby tag (patient or doctor),
//     in the fulfillment's tags or the order's.
//   - update, on_update: message.order.id and message.order.state.
//   - on_search: message.catalog; on_init, on_confirm, on_status,
//     on_cancel: message.order. A callback that carries error needs neither.
func DecodeBooking(action string, body []byte) (*BookingEnvelope, error) {
	env := &BookingEnvelope{}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &FieldError{Path: pathBody, Reason: "not a JSON object", Err: ErrMalformedJSON}
	}
	if err := json.Unmarshal(body, env); err != nil {
		return nil, jsonFieldError("", err)
	}
	ctx := &env.Context
	if *ctx == (Context{}) {
		return nil, missing(pathContext)
	}
	a := strings.TrimSpace(ctx.Action)
	switch {
	case a == "":
		ctx.Action = action
	case a != action:
		return nil, invalid("context.action", "is %q, want %q", a, action)
	}
	if trim(ctx.TransactionID) == "" {
		return nil, missing("context.transaction_id")
	}
	if trim(ctx.MessageID) == "" {
		return nil, missing("context.message_id")
	}
	callback := strings.HasPrefix(action, "on_") && action != ActionOnUpdate
	if !callback && action != ActionOnUpdate {
		if trim(ctx.ConsumerURI) == "" {
			return nil, missing("context.consumer_uri")
		}
	}
	if u := trim(ctx.ConsumerURI); u != "" {
		if _, err := parsePeerURI(u); err != nil {
			return nil, invalid("context.consumer_uri", "%v", err)
		}
	}
	if u := trim(ctx.ProviderURI); u != "" && callback {
		if _, err := parsePeerURI(u); err != nil {
			return nil, invalid("context.provider_uri", "%v", err)
		}
	}
	if env.Error != nil && strings.HasPrefix(action, "on_") {
		return env, checkTimes(env)
	}
	m := &env.Message
	o := m.Order
	switch action {
	case ActionSearch:
		if m.Intent == nil {
			return nil, missing("message.intent")
		}
	case ActionOnSearch:
		if m.Catalog == nil {
			return nil, missing("message.catalog")
		}
	case ActionInit, ActionConfirm:
		if o == nil {
			return nil, missing(pathOrder)
		}
		if action == ActionConfirm && trim(o.ID) == "" {
			return nil, missing(pathOrder + ".id")
		}
		if o.Fulfillment == nil {
			return nil, missing(pathOrderFulfillment)
		}
		if trim(o.Fulfillment.ID) == "" {
			return nil, missing(pathOrderFulfillment + ".id")
		}
		if trim(o.Fulfillment.Type) == "" {
			return nil, missing(pathOrderFulfillment + ".type")
		}
	case ActionStatus:
		if o == nil {
			return nil, missing(pathOrder)
		}
		if trim(o.ID) == "" {
			return nil, missing(pathOrder + ".id")
		}
	case ActionCancel:
		if o == nil {
			return nil, missing(pathOrder)
		}
		if trim(o.ID) == "" {
			return nil, missing(pathOrder + ".id")
		}
		by, ok := o.Tag(TagCancelledBy)
		if !ok {
			return nil, missing(pathCancelledBy)
		}
		if !strings.EqualFold(by, CancelledByPatient) && !strings.EqualFold(by, CancelledByDoctor) {
			return nil, invalid(pathCancelledBy, "is %q, want %q or %q", by, CancelledByPatient, CancelledByDoctor)
		}
	case ActionUpdate, ActionOnUpdate:
		if o == nil {
			return nil, missing(pathOrder)
		}
		if trim(o.ID) == "" {
			return nil, missing(pathOrder + ".id")
		}
		if trim(o.State) == "" {
			return nil, missing(pathOrder + ".state")
		}
	case ActionOnInit, ActionOnConfirm, ActionOnStatus, ActionOnCancel:
		if o == nil {
			return nil, missing(pathOrder)
		}
	default:
		return nil, invalid("context.action", "%q is not a booking action", action)
	}
	if f := fulfillmentOf(env); f != nil && trim(f.Type) != "" && f.ServiceType() == ServiceUnknown {
		return nil, invalid(fulfillmentPath(env)+".type", "%q is not a service type offered here (Physical, Online, Teleconsultation)", f.Type)
	}
	return env, checkTimes(env)
}

// fulfillmentOf returns the fulfillment whose type says the service: the
// intent's or the order's.
func fulfillmentOf(env *BookingEnvelope) *Fulfillment {
	if env.Message.Intent != nil {
		return env.Message.Intent.Fulfillment
	}
	if env.Message.Order != nil {
		return env.Message.Order.Fulfillment
	}
	return nil
}

func fulfillmentPath(env *BookingEnvelope) string {
	if env.Message.Intent != nil {
		return "message.intent.fulfillment"
	}
	return pathOrderFulfillment
}

// checkTimes checks and normalises every slot time of env.
func checkTimes(env *BookingEnvelope) error {
	m := &env.Message
	if m.Intent != nil {
		if err := fulfillmentTimes(m.Intent.Fulfillment, "message.intent.fulfillment"); err != nil {
			return err
		}
	}
	if m.Catalog != nil {
		for i := range m.Catalog.Providers {
			p := &m.Catalog.Providers[i]
			for j := range p.Fulfillments {
				if err := fulfillmentTimes(&p.Fulfillments[j], fmt.Sprintf("message.catalog.providers.%d.fulfillments.%d", i, j)); err != nil {
					return err
				}
			}
		}
	}
	if o := m.Order; o != nil {
		if err := fulfillmentTimes(o.Fulfillment, pathOrderFulfillment); err != nil {
			return err
		}
		if a := o.Authorization; a != nil {
			if err := normaliseLocalTime(&a.ValidFrom, pathOrder+".authorization.valid_from"); err != nil {
				return err
			}
			if err := normaliseLocalTime(&a.ValidTo, pathOrder+".authorization.valid_to"); err != nil {
				return err
			}
		}
	}
	return nil
}

func fulfillmentTimes(f *Fulfillment, path string) error {
	if f == nil {
		return nil
	}
	if f.Start != nil {
		if err := normaliseLocalTime(&f.Start.Time.Timestamp, path+".start.time.timestamp"); err != nil {
			return err
		}
	}
	if f.End != nil {
		if err := normaliseLocalTime(&f.End.Time.Timestamp, path+".end.time.timestamp"); err != nil {
			return err
		}
	}
	return nil
}

// MarshalBooking encodes a booking envelope as Java peers write JSON (no
// HTML escaping).
func MarshalBooking(env *BookingEnvelope) ([]byte, error) { return marshalNoEscape(env) }

func trim(s string) string { return strings.TrimSpace(s) }

func equalFoldTrim(a, b string) bool { return strings.EqualFold(strings.TrimSpace(a), b) }

// scalarText reads a JSON string, number or null as text.
func scalarText(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		return "", nil
	case b[0] == '"':
		return decodeJSONString(b)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		return string(b), nil
	}
	return "", &json.UnmarshalTypeError{Value: "object, array or bool", Type: contentValueType}
}

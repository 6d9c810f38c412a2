package uhiclient

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Tag key prefixes (docs/protocol.md §8). The network writes the first;
// the 2022 patient app reads and writes the second.
const (
	// TagPrefix is the spelling of today's network: "@abdm/gov.in/".
	TagPrefix = "@abdm/gov.in/"
	// TagPrefixSlash is the 2022 patient app's spelling: "@abdm/gov/in/".
	TagPrefixSlash = "@abdm/gov/in/"
)

// Tag names, without prefix (docs/protocol.md §8). Tags.Get and Tags.Set
// take these.
const (
	TagSlotID              = "slot_id"
	TagPatientKey          = "patient_key"
	TagDoctorsKey          = "doctors_key"
	TagCancelledBy         = "cancelledby"
	TagCancelReason        = "cancel_reason"
	TagMessagingSupport    = "messaging_support"
	TagHelplineNumber      = "helpline_number"
	TagCareContextID       = "care_context_id"
	TagTeleconsultationURI = "teleconsultation/uri"
	TagABHANumber          = "abha_number"
	TagExperience          = "experience"
	TagLanguages           = "languages"
	TagEducation           = "education"
	TagHPRID               = "hpr_id"
	TagHFRID               = "hfr_id"
	TagHIPID               = "hip_id"
	TagFirstConsultation   = "first_consultation"
	TagFollowUp            = "follow_up"
	TagSpeciality          = "speciality"
	TagUPIID               = "upi_id"
)

// tagAliases are older names of a tag: 2024 code wrote cancelReason.
var tagAliases = map[string][]string{TagCancelReason: {"cancelReason"}}

// Tags is a tags object: string keys, string values. On decode a number
// or boolean value is kept as its JSON text and null as "", since peers
// write "true" and true alike; an object or array is kept as its JSON text.
type Tags map[string]string

// UnmarshalJSON reads an object of scalars (see Tags).
func (t *Tags) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if raw == nil {
		*t = nil
		return nil
	}
	out := make(Tags, len(raw))
	for k, v := range raw {
		v = bytes.TrimSpace(v)
		switch {
		case bytes.Equal(v, []byte("null")):
			out[k] = ""
		case len(v) > 0 && v[0] == '"':
			s, err := decodeJSONString(v)
			if err != nil {
				return err
			}
			out[k] = s
		default:
			out[k] = string(v)
		}
	}
	*t = out
	return nil
}

// Get returns the tag name (e.g. TagCancelledBy) in either spelling,
// "@abdm/gov.in/name" first, then "@abdm/gov/in/name", then its older
// names (cancelReason for cancel_reason) in both spellings and bare, then
// the bare name. A full key ("@abdm/gov.in/x" or "@abdm/gov/in/x") is
// looked up in both spellings too. Empty values count as absent.
func (t Tags) Get(name string) (string, bool) {
	name = tagName(name)
	names := append([]string{name}, tagAliases[name]...)
	for _, n := range names {
		for _, k := range []string{TagPrefix + n, TagPrefixSlash + n} {
			if v := strings.TrimSpace(t[k]); v != "" {
				return v, true
			}
		}
	}
	for _, n := range names {
		if v := strings.TrimSpace(t[n]); v != "" {
			return v, true
		}
	}
	return "", false
}

// Value is Get without the flag.
func (t Tags) Value(name string) string {
	v, _ := t.Get(name)
	return v
}

// Set sets the tag name in today's spelling, "@abdm/gov.in/name", and
// returns t (made when nil).
func (t Tags) Set(name, value string) Tags {
	if t == nil {
		t = Tags{}
	}
	t[TagPrefix+tagName(name)] = value
	return t
}

// SetBoth sets the tag in both spellings, for objects a 2022 patient app
// may read (the agent's tags in a catalog), and returns t (made when nil).
func (t Tags) SetBoth(name, value string) Tags {
	t = t.Set(name, value)
	t[TagPrefixSlash+tagName(name)] = value
	return t
}

// tagName strips either prefix from a full key.
func tagName(k string) string {
	switch {
	case strings.HasPrefix(k, TagPrefix):
		return k[len(TagPrefix):]
	case strings.HasPrefix(k, TagPrefixSlash):
		return k[len(TagPrefixSlash):]
	}
	return k
}

// ServiceType is a consultation's kind, read from fulfillment.type
// (docs/protocol.md §8).
type ServiceType int

// Service types.
const (
	// ServiceUnknown is a type this HSPA does not offer (or none given).
	ServiceUnknown ServiceType = iota
	// ServicePhysical is the in-clinic consultation, "Physical" on the wire.
	ServicePhysical
	// ServiceTeleconsultation is the video consultation, "Online" (the
	// reference backend) or "Teleconsultation" (the reference patient app).
	ServiceTeleconsultation
)

// Fulfillment type spellings this package writes.
const (
	// FulfillmentPhysical is today's network's in-clinic type (case-sensitive).
	FulfillmentPhysical = "Physical"
	// FulfillmentTeleconsultation is the reference patient app's spelling.
	FulfillmentTeleconsultation = "Teleconsultation"
	// FulfillmentOnline is the reference backend's spelling.
	FulfillmentOnline = "Online"
)

// ParseServiceType reads a fulfillment.type: "Online" and
// "Teleconsultation" in any case are ServiceTeleconsultation, "Physical"
// in any case ServicePhysical (emitted exactly "Physical"), anything else
// ServiceUnknown.
func ParseServiceType(s string) ServiceType {
	switch s = strings.TrimSpace(s); {
	case strings.EqualFold(s, FulfillmentPhysical):
		return ServicePhysical
	case strings.EqualFold(s, FulfillmentOnline), strings.EqualFold(s, FulfillmentTeleconsultation):
		return ServiceTeleconsultation
	}
	return ServiceUnknown
}

// String names the type as this package writes it: "Physical",
// "Teleconsultation" or "unknown".
func (t ServiceType) String() string {
	switch t {
	case ServicePhysical:
		return FulfillmentPhysical
	case ServiceTeleconsultation:
		return FulfillmentTeleconsultation
	}
	return "unknown"
}

// Wire returns the fulfillment.type to write for t in a reply to a peer
// that wrote sent: sent itself when it names t (so an app that asked for
// "Online" gets "Online", one that asked for "teleconsultation" gets
// that), else t's own spelling. Physical is always exactly "Physical".
func (t ServiceType) Wire(sent string) string {
	if t == ServiceTeleconsultation && ParseServiceType(sent) == t {
		return strings.TrimSpace(sent)
	}
	if t == ServiceUnknown {
		return strings.TrimSpace(sent)
	}
	return t.String()
}

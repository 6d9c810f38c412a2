package booking

import "strings"

// Kind is the kind of consultation a slot is for. Its zero value is
// KindUnknown.
type Kind int

// The kinds of consultation (docs/booking.md §2).
const (
	// KindUnknown is no kind: a request that names none, or one not known.
	KindUnknown Kind = iota
	// KindTele is a teleconsultation: a video call over UHI on_message.
	KindTele
	// KindPhysical is an in-clinic visit, checked in with a PIN.
	KindPhysical
)

// Kinds lists the known kinds, in the order they are shown.
func Kinds() []Kind { return []Kind{KindTele, KindPhysical} }

// String is the schedule file's name for the kind.
func (k Kind) String() string {
	switch k {
	case KindTele:
		return "teleconsultation"
	case KindPhysical:
		return "physical"
	}
	return "unknown"
}

// Short is the kind as the doctor's day shows it, in a narrow column.
func (k Kind) Short() string {
	switch k {
	case KindTele:
		return "video"
	case KindPhysical:
		return "clinic"
	}
	return "?"
}

// ParseKind reads a kind by any of the names peers and people use:
// "teleconsultation", "online", "tele", "video" and "physical", "clinic",
// "in-clinic", case-insensitively.
func ParseKind(s string) Kind {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "teleconsultation", "online", "tele", "video":
		return KindTele
	case "physical", "clinic", "in-clinic", "in_clinic", "inclinic":
		return KindPhysical
	}
	return KindUnknown
}

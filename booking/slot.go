package booking

import (
	"time"

	"github.com/google/uuid"
)

// slotSpace is the name space of slot ids (RFC 9562 §5.5): a fixed UUID,
// so every replica derives the same id for the same slot.
const slotSpace = "6f1c3f0e-5d2a-4c61-9a57-2b1e8d7c4a90"

// SlotID is the slot's id on the wire (the catalog's fulfillment id, a
// UUID as the reference's are): a name-based UUID of the doctor, the kind
// and the start, so the same slot has the same id wherever and whenever it
// is computed, and no table of slots needs to exist.
func SlotID(doctor string, k Kind, start time.Time) string {
	name := doctor + "|" + k.String() + "|" + start.UTC().Format(time.RFC3339)
	return uuid.NewSHA1(uuid.MustParse(slotSpace), []byte(name)).String()
}

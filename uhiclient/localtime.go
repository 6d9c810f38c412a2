package uhiclient

import (
	"fmt"
	"strings"
	"time"
)

// LocalTimeLayout is how slot times inside a booking message are written:
// India's local time with no zone (docs/protocol.md §8). The reference
// backend breaks on a zone.
const LocalTimeLayout = "2006-01-02T15:04:05"

// indiaZone is India Standard Time; India has no daylight saving, so a
// fixed zone is exact and needs no zone database.
var indiaZone = time.FixedZone("IST", 5*3600+1800)

// IndiaTime returns India Standard Time (UTC+05:30), the zone of every slot
// time on the booking wire.
func IndiaTime() *time.Location { return indiaZone }

// ParseLocalTime reads a slot time (docs/protocol.md §8): "YYYY-MM-DDTHH:MM:SS",
// with optional fractional seconds, taken as India's local time. Two
// variants are accepted:
//
//   - a trailing "Z": the peers that write one (JavaScript's toISOString on
//     a local time, for one) mean the same wall clock, not UTC; it is read
//     as that wall clock in India, so "10:30:00Z" is 10:30 IST. A slot the
//     patient picked from our own catalog stays the same slot.
//   - an explicit "+05:30" offset: the same wall clock, said precisely.
//
// Any other offset, a date alone, or anything else is refused with an
// error wrapping ErrInvalidField. The result is in IndiaTime.
func ParseLocalTime(s string) (time.Time, error) {
	v := strings.TrimSpace(s)
	switch {
	case strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z"):
		v = v[:len(v)-1]
	case strings.HasSuffix(v, "+05:30"):
		v = v[:len(v)-len("+05:30")]
	}
	t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", v, indiaZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time %q is not YYYY-MM-DDTHH:MM:SS (India local time)", ErrInvalidField, s)
	}
	return t, nil
}

// FormatLocalTime writes t as a slot time: India's wall clock, whole
// seconds, no zone.
func FormatLocalTime(t time.Time) string { return t.In(indiaZone).Format(LocalTimeLayout) }

// normaliseLocalTime checks the slot time at *s (path names it in the
// error) and rewrites it in the canonical form; an empty time is left
// empty. Fractional seconds are dropped: slots are whole minutes.
func normaliseLocalTime(s *string, path string) error {
	if strings.TrimSpace(*s) == "" {
		*s = ""
		return nil
	}
	t, err := ParseLocalTime(*s)
	if err != nil {
		return invalid(path, "%q is not India local time YYYY-MM-DDTHH:MM:SS", *s)
	}
	*s = FormatLocalTime(t)
	return nil
}

package waitingroom

import (
	"fmt"
	"time"
)

// DefaultPresenceTimeout is how long a waiting patient may stay silent before
// the room counts them as left.
//
// The reference patient app sends READY every 5 s only until the first ACK
// and then nothing at all while it waits (docs/protocol.md §3), so
// silence is the normal state of a patient who is still there. The timeout
// therefore cannot be a few READY intervals: it only clears entries that are
// surely stale. 30 minutes is longer than a typical teleconsultation queue,
// so a present patient is not hidden from the doctor, yet a day's worth of
// abandoned visits does not pile up; the capacity bounds memory in any case.
const DefaultPresenceTimeout = 30 * time.Minute

// DefaultCapacity is how many patients a room holds by default.
const DefaultCapacity = 256

// Option configures a Room in New. An option returns an error (wrapping
// ErrBadOption) for a value out of range.
type Option func(*Room) error

// WithClock sets the clock the room reads the time from; the default is
// time.Now. Tests inject a fixed or stepped clock.
func WithClock(now func() time.Time) Option {
	return func(r *Room) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrBadOption)
		}
		r.now = now
		return nil
	}
}

// WithPresenceTimeout sets how long a patient may stay silent before they
// count as left (see DefaultPresenceTimeout). It must be positive.
func WithPresenceTimeout(d time.Duration) Option {
	return func(r *Room) error {
		if d <= 0 {
			return fmt.Errorf("%w: presence timeout %v", ErrBadOption, d)
		}
		r.presence = d
		return nil
	}
}

// WithCapacity sets the most patients the room holds. When a new patient
// READYs into a full room, the finished patient heard from least recently is
// evicted; if none has finished, the READY fails with ErrRoomFull. This keeps
// a READY flood from growing memory without bound. It must be positive.
func WithCapacity(n int) Option {
	return func(r *Room) error {
		if n <= 0 {
			return fmt.Errorf("%w: capacity %d", ErrBadOption, n)
		}
		r.capacity = n
		return nil
	}
}

// Package booking is the domain of the doctor's day: when the doctor sees
// patients (a Schedule of weekly hours per kind of consultation), the
// slots those hours make, and the appointments (Orders) patients book in
// them, from the hold that init places to the end of the visit.
//
// It implements the booking rules of docs/booking.md: one slot, one
// patient, always (the Store claims a slot atomically, so two replicas of
// a hospital's hub, or two patients at once, can never both confirm it);
// a hold that lapses after HoldFor without a confirm; the five terms a
// patient agrees to; the check-in PIN, kept only as a keyed hash; the
// lifecycle of a visit and the reason codes of a cancel or an override.
//
// It does no I/O of its own and imports nothing else of this module: the
// Store is an interface (MemoryStore here, the consultation record and the
// hub's key-value bucket elsewhere), time comes from an injected clock and
// randomness from an injected reader, so every rule is tested without
// sleeping.
package booking

// Package hspa is the booking side of an HSPA: the booking domain
// (booking.Desk) on the UHI wire (uhiclient). A Service holds the desks of
// one or more doctors on one store and answers the patients' booking
// requests, routing each to its doctor's desk; the console serves one
// doctor with it, the hub every doctor of the hospital with a schedule
// (docs/booking.md).
package hspa
